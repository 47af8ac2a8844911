"""The correlation id that follows one piece of work across HTTP calls and events."""

import uuid
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CORRELATION_HEADER = "x-correlation-id"

_correlation_id: ContextVar[str] = ContextVar("correlation_id", default="")


def current() -> str:
    """Returns the correlation id of the work in progress, or an empty string."""
    return _correlation_id.get()


def bind(correlation_id: str | None) -> str:
    """Makes `correlation_id` (or a fresh one) current for this task and returns it."""
    value = correlation_id or uuid.uuid4().hex
    _correlation_id.set(value)
    return value


class CorrelationMiddleware:
    """Binds the caller's correlation id (or a new one) and echoes it on the response.

    Plain ASGI rather than BaseHTTPMiddleware: it stays off the hot path's task switching.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(CORRELATION_HEADER.encode())
        correlation_id = bind(incoming.decode("latin-1")[:128] if incoming else None)

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"].append((CORRELATION_HEADER.encode(), correlation_id.encode()))
            await send(message)

        await self.app(scope, receive, send_with_header)
