"""Outgoing HTTP: pooled clients that carry the current correlation id to the next service."""

from typing import Any

import httpx

from qunyun_shared import correlation


async def _stamp_correlation(request: httpx.Request) -> None:
    if cid := correlation.current():
        request.headers[correlation.CORRELATION_HEADER] = cid


def new_client(*, timeout: float, max_connections: int = 100, **options: Any) -> httpx.AsyncClient:
    """An async client for calls between services; whoever opens it closes it (in a lifespan)."""
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.AsyncClient(timeout=timeout, limits=limits, event_hooks={"request": [_stamp_correlation]}, **options)
