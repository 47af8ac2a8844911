"""The RateLimit-Policy and RateLimit fields of draft-ietf-httpapi-ratelimit-headers (-11), and
Retry-After on a refusal, added to every response whose request was charged to a budget.

Proxied routes build their own Response objects, so the fields are added at the ASGI level from the
decision the limiting dependency left in the request's state.
"""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway_svc.ratelimit.limiter import Decision

STATE_KEY = "rate_limit"


def policy_field(decision: Decision) -> str:
    """`"credential";q=1000;w=10, "tenant";q=3000;w=10`: each quota, the same on every response."""
    return ", ".join(
        f'"{budget.policy}";q={budget.quota.limit};w={budget.quota.window_seconds}' for budget in decision.budgets
    )


def limit_field(decision: Decision) -> str:
    """`"credential";r=999;t=1, "tenant";r=2999;t=1`: what is left of each, and within how many seconds."""
    return ", ".join(f'"{budget.policy}";r={budget.remaining};t={budget.reset_seconds}' for budget in decision.budgets)


def fields_of(decision: Decision) -> list[tuple[bytes, bytes]]:
    fields = [(b"ratelimit-policy", policy_field(decision).encode()), (b"ratelimit", limit_field(decision).encode())]
    if not decision.admitted:
        fields.append((b"retry-after", str(decision.retry_after_seconds).encode()))
    return fields


class RateLimitHeaders:
    """Adds the rate-limit fields of the request's decision, if it had one, to its response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # The same dict is the request's `request.state` further in.
        state = scope.setdefault("state", {})

        async def send_with_fields(message: Message) -> None:
            decision = state.get(STATE_KEY)
            if message["type"] == "http.response.start" and decision is not None:
                message = {**message, "headers": [*message.get("headers", []), *fields_of(decision)]}
            await send(message)

        await self.app(scope, receive, send_with_fields)
