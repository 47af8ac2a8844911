"""The HTTP clients the gateway can reach its upstreams with, behind one small interface.

aiohttp's client is the default: httpx's connection pool costs far more CPU per request under
concurrency (httpx issue 3215). The httpx client stays selectable (`UPSTREAM_CLIENT=httpx`) so the
benchmark can keep measuring both on the same hop.
"""

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal, Protocol

import aiohttp
import httpx
from yarl import URL

from qunyun_shared.http import new_session

ClientName = Literal["aiohttp", "httpx"]
# As qunyun_shared.http's sessions: below uvicorn's 5 s keep-alive, so a pooled connection is dropped
# here before the server closes it under a request in flight.
_KEEPALIVE_SECONDS = 4.0


@dataclass(frozen=True, slots=True)
class UpstreamAnswer:
    status: int
    headers: dict[str, str]
    """Only the headers the gateway passes on."""
    content: bytes


class NotSent(Exception):
    """No connection could be made: the request never left, so sending it again cannot repeat its effect."""


class Interrupted(Exception):
    """The exchange broke off after the request may have reached the service."""


class UpstreamClient(Protocol):
    async def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> UpstreamAnswer:
        """One exchange with exactly `headers`; raises NotSent or Interrupted when it fails below HTTP.
        `url` is percent-encoded."""
        ...


class AiohttpClient:
    def __init__(self, session: aiohttp.ClientSession, *, connect_timeout: float, kept: Sequence[str]) -> None:
        self.session = session
        self.kept = kept
        # The whole exchange is bounded by the caller's deadline; only connecting has a limit of its own.
        self._timeout = aiohttp.ClientTimeout(total=None, connect=connect_timeout)

    async def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> UpstreamAnswer:
        try:
            async with self.session.request(
                method,
                URL(url, encoded=True),
                data=body or None,
                headers=headers,
                timeout=self._timeout,
                # The router sets the correlation header itself; the session's middleware would only repeat it.
                middlewares=(),
            ) as response:
                content = await response.read()
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise NotSent(f"{type(exc).__name__}: {exc}") from exc
        except aiohttp.ClientError as exc:
            raise Interrupted(f"{type(exc).__name__}: {exc}") from exc
        kept = {name: response.headers[name] for name in self.kept if name in response.headers}
        return UpstreamAnswer(response.status, kept, content)


class HttpxClient:
    def __init__(self, client: httpx.AsyncClient, *, kept: Sequence[str]) -> None:
        self.client = client
        self.kept = kept

    async def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> UpstreamAnswer:
        try:
            response = await self.client.request(method, url, content=body or None, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise NotSent(f"{type(exc).__name__}: {exc}") from exc
        except httpx.TransportError as exc:
            raise Interrupted(f"{type(exc).__name__}: {exc}") from exc
        kept = {name: response.headers[name] for name in self.kept if name in response.headers}
        return UpstreamAnswer(response.status_code, kept, response.content)


@asynccontextmanager
async def open_client(
    *, name: ClientName, timeout: float, connect_timeout: float, max_connections: int, kept: Sequence[str]
) -> AsyncIterator[UpstreamClient]:
    """A pooled client for the gateway's lifetime, passing on the response headers named in `kept`."""
    if name == "httpx":
        # Tuned for a proxy hop: no environment proxies or .netrc lookups, pooled connections kept
        # below uvicorn's keep-alive, and a pool no larger than the concurrency it serves (its
        # bookkeeping grows with the number of connections).
        limits = httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=_KEEPALIVE_SECONDS,
        )
        timeouts = httpx.Timeout(timeout, connect=connect_timeout, pool=connect_timeout)
        async with httpx.AsyncClient(limits=limits, timeout=timeouts, trust_env=False) as client:
            yield HttpxClient(client, kept=kept)
        return
    async with new_session(timeout=timeout, max_connections=max_connections) as session:
        yield AiohttpClient(session, connect_timeout=connect_timeout, kept=kept)
