"""Prometheus metrics of the gateway's upstream calls, defined once."""

from prometheus_client import Counter, Gauge

BREAKER_STATE = Gauge(
    "qunyun_gateway_breaker_state", "Circuit breaker state per upstream: 0 closed, 1 half-open, 2 open.", ["upstream"]
)
BREAKER_TRANSITIONS = Counter(
    "qunyun_gateway_breaker_transitions_total",
    "Circuit breaker state changes, by the state entered.",
    ["upstream", "state"],
)
BREAKER_REJECTIONS = Counter(
    "qunyun_gateway_breaker_rejections_total",
    "Requests answered 503 at once because the breaker was open.",
    ["upstream"],
)
UPSTREAM_RETRIES = Counter(
    "qunyun_gateway_upstream_retries_total",
    "Attempts sent again to an upstream, by what failed.",
    ["upstream", "reason"],
)
