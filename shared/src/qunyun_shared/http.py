"""Outgoing HTTP between services: pooled aiohttp sessions that carry the correlation id onward.

aiohttp rather than httpx: under concurrency httpx's connection pool cost the gateway about half of
its CPU (measured with py-spy; see bench/), which on two cores is the difference that matters.
"""

import aiohttp

from qunyun_shared import correlation

# Below uvicorn's 5 s keep-alive, so an idle connection is dropped here before the server closes it
# under a request in flight.
_KEEPALIVE_SECONDS = 4.0


async def _carry_correlation(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    if cid := correlation.current():
        request.headers[correlation.CORRELATION_HEADER] = cid
    return await handler(request)


def new_session(*, timeout: float, max_connections: int = 100) -> aiohttp.ClientSession:
    """A session for calls to other services; whoever opens it closes it (in a lifespan)."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=max_connections, keepalive_timeout=_KEEPALIVE_SECONDS),
        timeout=aiohttp.ClientTimeout(total=timeout),
        middlewares=(_carry_correlation,),
        auto_decompress=False,
    )
