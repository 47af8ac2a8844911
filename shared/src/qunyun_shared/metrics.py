"""Prometheus metrics of the platform's mechanisms, defined once."""

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PUBLISHED = Counter("qunyun_events_published_total", "Events the outbox relay published.", ["topic"])
OUTBOX_PUBLISH_FAILURES = Counter("qunyun_outbox_publish_failures_total", "Relay batches that failed to publish.")
OUTBOX_BACKLOG = Gauge("qunyun_outbox_backlog", "Rows read in the relay's last batch (a full batch means backlog).")
EVENTS_CONSUMED = Counter(
    "qunyun_events_consumed_total", "Events a consumer finished with, by outcome.", ["consumer", "type", "outcome"]
)
EVENTS_DEAD_LETTERED = Counter(
    "qunyun_events_dead_lettered_total", "Events sent to the dead-letter topic.", ["consumer"]
)
HANDLER_SECONDS = Histogram("qunyun_event_batch_seconds", "Time to handle one batch of events.", ["consumer"])
HTTP_REQUESTS = Counter("qunyun_http_requests_total", "HTTP requests served.", ["method", "route", "status"])
HTTP_SECONDS = Histogram("qunyun_http_request_seconds", "HTTP request latency.", ["method", "route"])
BACKGROUND_STALLS = Counter(
    "qunyun_background_stalls_total", "Times a background loop stalled waiting for a failed dependency.", ["loop"]
)
BACKGROUND_STALLED = Gauge("qunyun_background_stalled", "1 while a background loop waits for a dependency.", ["loop"])
BACKGROUND_CRASHES = Counter("qunyun_background_crashes_total", "Background loop crashes (restarted).", ["loop"])
