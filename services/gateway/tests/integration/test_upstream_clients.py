"""Both upstream clients over real sockets, against a small HTTP server that answers, hangs or hangs up as
told: what each failure is taken for, and what the router does with it."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from gateway_svc.config import Settings
from gateway_svc.exceptions import UpstreamTimeout
from gateway_svc.proxy.forwarding import FORWARDED_RESPONSE_HEADERS, open_router
from gateway_svc.proxy.resources import Service
from gateway_svc.upstreams.clients import ClientName, Interrupted, NotSent, UpstreamClient, open_client
from qunyun_shared import correlation
from qunyun_shared.problems import UpstreamUnavailable
from qunyun_shared.testing import free_port

pytestmark = pytest.mark.integration

CLIENTS: list[ClientName] = ["aiohttp", "httpx"]
Behaviour = Literal["answer", "hang", "hang-up"] | int


@dataclass
class Upstream:
    """An HTTP/1.1 server playing a script: a status to answer with, `hang` (never answer) or `hang-up`
    (close the connection once the request is in); answers 200 when the script is done."""

    script: list[Behaviour] = field(default_factory=list)
    requests: list[bytes] = field(default_factory=list)
    """Each request's head as received."""
    url: str = ""
    released: asyncio.Event = field(default_factory=asyncio.Event)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                self.requests.append(head)
                await reader.readexactly(_content_length(head))
                behaviour = self.script.pop(0) if self.script else 200
                if behaviour == "hang":
                    await self.released.wait()
                if behaviour in ("hang", "hang-up"):
                    break
                body = b'{"ok": true}'
                writer.write(
                    b"HTTP/1.1 %d Status\r\ncontent-type: application/json\r\nx-internal: secret\r\n"
                    b"retry-after: 1\r\ncontent-length: %d\r\n\r\n%s" % (int(behaviour), len(body), body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


@asynccontextmanager
async def upstream(*script: Behaviour) -> AsyncIterator[Upstream]:
    served = Upstream(list(script))
    server = await asyncio.start_server(served.serve, "127.0.0.1", 0)
    served.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield served
    finally:
        served.released.set()
        server.close()


@asynccontextmanager
async def client(name: ClientName) -> AsyncIterator[UpstreamClient]:
    async with open_client(
        name=name, timeout=5, connect_timeout=1, max_connections=10, kept=FORWARDED_RESPONSE_HEADERS
    ) as opened:
        yield opened


def settings(name: ClientName, url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": "sqlite+aiosqlite://",
        "internal_token_secret": "clients-test-secret-" + "x" * 32,
        "platform_admin_token": "admin-" + "x" * 32,
        "access_token_secret": "access-" + "x" * 32,
        "webhook_secret_key": "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
        "member_svc_url": url,
        "upstream_client": name,
        "upstream_backoff_seconds": 0.01,
        **overrides,
    }
    return Settings(**values)


@pytest.mark.parametrize("name", CLIENTS)
async def test_an_answer_comes_back_with_only_the_headers_passed_on(name: ClientName) -> None:
    async with upstream(201) as served, client(name) as opened:
        answer = await opened.send(
            "POST", f"{served.url}/members/a%3Fb?tag=%E5%AE%9D&tag=x", {"content-type": "application/json"}, b"{}"
        )
    assert (answer.status, answer.content) == (201, b'{"ok": true}')
    assert answer.headers == {"content-type": "application/json", "retry-after": "1"}
    assert served.requests[0].startswith(b"POST /members/a%3Fb?tag=%E5%AE%9D&tag=x HTTP/1.1\r\n")


@pytest.mark.parametrize("name", CLIENTS)
async def test_a_refused_connection_was_never_sent(name: ClientName) -> None:
    async with client(name) as opened:
        with pytest.raises(NotSent):
            await opened.send("POST", f"http://127.0.0.1:{free_port()}/members", {}, b"{}")


@pytest.mark.parametrize("name", CLIENTS)
async def test_a_hang_up_after_the_request_arrived_is_an_interruption(name: ClientName) -> None:
    async with upstream("hang-up", "hang-up") as served, client(name) as opened:
        with pytest.raises(Interrupted):
            await opened.send("POST", f"{served.url}/members", {}, b"{}")
    assert len(served.requests) >= 1


@pytest.mark.parametrize("name", CLIENTS)
async def test_the_router_sends_a_read_again_after_a_503_and_a_hang_up(name: ClientName) -> None:
    async with (
        upstream(503, "hang-up", "hang-up", 200) as served,
        open_router(settings=settings(name, served.url, upstream_attempts=5)) as router,
    ):
        answer = await router.exchange(Service.MEMBER, "GET", "/members", {}, idempotent=None)
    assert answer.status == 200
    assert len(served.requests) >= 3


@pytest.mark.parametrize("name", CLIENTS)
async def test_the_router_carries_the_correlation_id(name: ClientName) -> None:
    correlation_id = correlation.bind(None)
    async with upstream() as served, open_router(settings=settings(name, served.url)) as router:
        await router.exchange(Service.MEMBER, "GET", "/members", {"accept": "application/json"}, idempotent=None)
    assert f"x-correlation-id: {correlation_id}\r\n".encode() in served.requests[0].lower()


@pytest.mark.parametrize("name", CLIENTS)
async def test_the_router_gives_up_a_write_the_service_may_have_taken(name: ClientName) -> None:
    async with (
        upstream("hang-up", "hang-up", 201) as served,
        open_router(settings=settings(name, served.url)) as router,
    ):
        with pytest.raises(UpstreamUnavailable):
            await router.exchange(Service.MEMBER, "POST", "/members", {}, b"{}", idempotent=None)
    assert [request.split(b" ")[0] for request in served.requests] == [b"POST"]


@pytest.mark.parametrize("name", CLIENTS)
async def test_a_hanging_service_times_out_within_the_deadline(name: ClientName) -> None:
    async with (
        upstream("hang") as served,
        open_router(settings=settings(name, served.url, upstream_timeout_seconds=0.3)) as router,
    ):
        started = asyncio.get_running_loop().time()
        with pytest.raises(UpstreamTimeout):
            await router.exchange(Service.MEMBER, "GET", "/members", {}, idempotent=None)
    assert asyncio.get_running_loop().time() - started < 2
