"""Forwarding without sockets: which requests are sent again and when, the breaker around each upstream, and
the proxy route's permission check, all on an upstream client that plays a script."""

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from gateway_svc.config import Settings
from gateway_svc.dependencies import rate_limited_caller
from gateway_svc.exceptions import UpstreamTimeout
from gateway_svc.proxy import api as proxy_api
from gateway_svc.proxy.forwarding import UpstreamRouter
from gateway_svc.proxy.resources import Service
from gateway_svc.upstreams.breaker import BreakerState, CircuitOpen
from gateway_svc.upstreams.clients import Interrupted, NotSent, UpstreamAnswer
from qunyun_shared import identity, problems
from qunyun_shared.correlation import CorrelationMiddleware
from qunyun_shared.problems import UpstreamUnavailable

pytestmark = pytest.mark.unit

SECRET = "proxy-test-secret-" + "x" * 32
OWNER = identity.Identity("tenant-a", "api_key:owner", ("owner",), frozenset({"*"}))
ANALYST = identity.Identity("tenant-a", "api_key:analyst", ("analyst",), frozenset({"members:read"}))


@dataclass(frozen=True)
class Stall:
    seconds: float


Step = UpstreamAnswer | Exception | Stall


@dataclass
class Sent:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes


@dataclass
class ScriptedUpstream:
    """An upstream client that answers each request with the next step of its script."""

    script: list[Step]
    sent: list[Sent] = field(default_factory=list)

    async def send(self, method: str, url: str, headers: Mapping[str, str], body: bytes) -> UpstreamAnswer:
        self.sent.append(Sent(method, url, dict(headers), body))
        step = self.script.pop(0) if self.script else answer(200)
        if isinstance(step, Stall):
            await asyncio.sleep(step.seconds)  # the upstream that does not answer in time, which is what is tested
            return answer(200)
        if isinstance(step, Exception):
            raise step
        return step


def answer(status: int, content: bytes = b"{}") -> UpstreamAnswer:
    return UpstreamAnswer(status, {"content-type": "application/json"}, content)


def settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": "sqlite+aiosqlite://",
        "internal_token_secret": SECRET,
        "platform_admin_token": "admin-" + "x" * 32,
        "access_token_secret": "access-" + "x" * 32,
        "webhook_secret_key": "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
        "member_svc_url": "http://member.test",
        "upstream_backoff_seconds": 0.001,
        "upstream_attempts": 3,
        "breaker_failure_threshold": 5,
        **overrides,
    }
    return Settings(**values)


def router(*script: Step, **overrides: Any) -> tuple[UpstreamRouter, ScriptedUpstream]:
    upstream = ScriptedUpstream(list(script))
    return UpstreamRouter(settings(**overrides), upstream), upstream


async def exchange(upstreams: UpstreamRouter, method: str, headers: Mapping[str, str] | None = None) -> UpstreamAnswer:
    return await upstreams.exchange(Service.MEMBER, method, "/members", headers or {}, b"{}", idempotent=None)


def test_every_service_has_an_address_and_a_breaker() -> None:
    upstreams, _ = router()
    assert set(upstreams.bases) == set(upstreams.breakers) == set(Service)


async def test_a_read_is_sent_again_after_a_failed_connection_or_a_503() -> None:
    upstreams, upstream = router(
        NotSent("refused"), answer(503), Interrupted("reset"), answer(200), upstream_attempts=4
    )
    assert (await exchange(upstreams, "GET")).status == 200
    assert len(upstream.sent) == 4


async def test_attempts_are_bounded() -> None:
    upstreams, upstream = router(answer(503), answer(502), answer(503), answer(200))
    assert (await exchange(upstreams, "GET")).status == 503
    assert len(upstream.sent) == 3
    upstreams, upstream = router(NotSent("refused"), NotSent("refused"), NotSent("refused"))
    with pytest.raises(UpstreamUnavailable):
        await exchange(upstreams, "DELETE")
    assert len(upstream.sent) == 3


async def test_a_500_is_not_sent_again() -> None:
    upstreams, upstream = router(answer(500), answer(200))
    assert (await exchange(upstreams, "GET")).status == 500
    assert len(upstream.sent) == 1


async def test_a_write_that_may_have_reached_the_service_is_never_sent_again() -> None:
    upstreams, upstream = router(Interrupted("reset after sending"), answer(201))
    with pytest.raises(UpstreamUnavailable):
        await exchange(upstreams, "POST")
    assert len(upstream.sent) == 1
    upstreams, upstream = router(answer(503), answer(201))
    assert (await exchange(upstreams, "PATCH")).status == 503
    assert len(upstream.sent) == 1


async def test_a_write_that_never_left_is_sent_again() -> None:
    upstreams, upstream = router(NotSent("refused"), answer(201))
    assert (await exchange(upstreams, "POST")).status == 201
    assert len(upstream.sent) == 2


async def test_a_write_with_an_idempotency_key_is_sent_again() -> None:
    upstreams, upstream = router(Interrupted("reset"), answer(503), answer(201))
    assert (await exchange(upstreams, "POST", {"idempotency-key": "k-1"})).status == 201
    assert len(upstream.sent) == 3
    assert {sent.headers["idempotency-key"] for sent in upstream.sent} == {"k-1"}


async def test_the_timeout_bounds_all_attempts_together() -> None:
    upstreams, upstream = router(answer(503), Stall(5), upstream_timeout_seconds=0.2)
    started = asyncio.get_running_loop().time()
    with pytest.raises(UpstreamTimeout):
        await exchange(upstreams, "GET")
    assert asyncio.get_running_loop().time() - started < 1
    assert len(upstream.sent) == 2


async def test_the_breaker_opens_after_consecutive_failures_and_refuses_without_sending() -> None:
    upstreams, upstream = router(
        NotSent("refused"),
        answer(500),
        Stall(5),
        answer(503),
        upstream_attempts=1,
        breaker_failure_threshold=4,
        upstream_timeout_seconds=0.05,
    )
    with pytest.raises(UpstreamUnavailable):
        await exchange(upstreams, "GET")
    assert (await exchange(upstreams, "GET")).status == 500
    with pytest.raises(UpstreamTimeout):
        await exchange(upstreams, "GET")
    assert upstreams.breakers[Service.MEMBER].state is BreakerState.CLOSED
    assert (await exchange(upstreams, "GET")).status == 503
    assert upstreams.breakers[Service.MEMBER].state is BreakerState.OPEN
    with pytest.raises(CircuitOpen) as refused:
        await exchange(upstreams, "GET")
    assert refused.value.retry_after >= 1
    assert len(upstream.sent) == 4
    assert upstreams.breakers[Service.CONTENT].state is BreakerState.CLOSED


async def test_answers_below_500_keep_the_breaker_closed() -> None:
    upstreams, _ = router(*(answer(404) for _ in range(10)), breaker_failure_threshold=2)
    for _ in range(10):
        assert (await exchange(upstreams, "GET")).status == 404
    assert upstreams.breakers[Service.MEMBER].state is BreakerState.CLOSED


@asynccontextmanager
async def gateway(upstreams: UpstreamRouter, caller: identity.Identity = OWNER) -> AsyncIterator[httpx.AsyncClient]:
    """The proxy route in process, for `caller`, forwarding through `upstreams`."""

    async def the_caller() -> identity.Identity:
        return caller

    app = FastAPI()
    problems.install(app)
    app.include_router(proxy_api.router)
    app.include_router(proxy_api.fallback)
    app.add_middleware(CorrelationMiddleware)
    app.state.upstreams = upstreams
    app.dependency_overrides[rate_limited_caller] = the_caller
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as client:
        yield client


async def test_the_route_forwards_the_clients_path_and_query_as_sent_with_the_signed_caller() -> None:
    upstreams, upstream = router(answer(201, b'{"id": 1}'))
    headers = {
        "X-Tenant-Id": "tenant-b",
        identity.IDENTITY_HEADER: "forged",
        "Idempotency-Key": "k-9",
        "X-Correlation-Id": "c-42",
    }
    async with gateway(upstreams) as client:
        response = await client.post(
            "/api/v1/members/a%3Fb/tags?tag=%E5%AE%9D%E5%A6%88&tag=x", json={"tag": "VIP"}, headers=headers
        )
    assert (response.status_code, response.json()) == (201, {"id": 1})
    (sent,) = upstream.sent
    assert sent.url == "http://member.test/members/a%3Fb/tags?tag=%E5%AE%9D%E5%A6%88&tag=x"
    assert set(sent.headers) == {
        "content-type",
        "idempotency-key",
        "accept",
        identity.IDENTITY_HEADER,
        "x-correlation-id",
    }
    assert sent.headers["x-correlation-id"] == "c-42"
    assert identity.verify(sent.headers[identity.IDENTITY_HEADER], SECRET) == OWNER
    assert sent.body == b'{"tag":"VIP"}'


async def test_the_route_needs_the_permission_of_the_resource() -> None:
    upstreams, upstream = router()
    async with gateway(upstreams, ANALYST) as client:
        assert (await client.get("/api/v1/communities")).status_code == 200
        refused = await client.post("/api/v1/communities", json={"name": "x"})
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/permission-denied")
    assert [sent.method for sent in upstream.sent] == ["GET"]


@pytest.mark.parametrize("path", ["/api/v1/nowhere", "/api/v1/healthz", "/api/v1/"])
async def test_paths_outside_the_table_are_unknown_routes(path: str) -> None:
    upstreams, upstream = router()
    async with gateway(upstreams) as client:
        response = await client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"] == problems.PROBLEM_MEDIA_TYPE
    assert response.json()["type"].endswith("/unknown-route")
    assert upstream.sent == []


async def test_an_open_breaker_answers_503_with_retry_after_at_once() -> None:
    upstreams, upstream = router(answer(500), upstream_attempts=1, breaker_failure_threshold=1)
    async with gateway(upstreams) as client:
        assert (await client.get("/api/v1/members")).status_code == 500
        refused = await client.get("/api/v1/members")
    assert refused.status_code == 503
    assert refused.headers["content-type"] == problems.PROBLEM_MEDIA_TYPE
    assert refused.json()["type"].endswith("/upstream-unavailable")
    assert 1 <= int(refused.headers["retry-after"]) <= 5
    assert len(upstream.sent) == 1


async def test_fetch_gives_a_view_the_gateways_problem_when_the_service_cannot_answer() -> None:
    upstreams, _ = router(NotSent("refused"), NotSent("refused"), NotSent("refused"))
    status, body = await upstreams.fetch("members/1", OWNER)
    assert status == 503 and "unreachable" in body["detail"]


async def test_a_write_naming_its_member_by_the_merchants_id_is_sent_with_the_member_id() -> None:
    looked_up = answer(200, b'{"members": {"shop-7": "m-1"}, "unknown": [], "erased": []}')
    upstreams, upstream = router(looked_up, answer(201, b'{"id": "o-1"}'))
    order = {"merchant_member_id": "shop-7", "items": [{"product_id": "p", "quantity": 1, "unit_price_fen": 100}]}
    async with gateway(upstreams) as client:
        placed = await client.post("/api/v1/campaigns/orders", json=order, headers={"Idempotency-Key": "k-1"})
    assert placed.status_code == 201, placed.text
    lookup, forwarded = upstream.sent
    assert (lookup.url, lookup.body) == ("http://member.test/members/resolve", b'{"merchant_member_ids":["shop-7"]}')
    assert forwarded.url.endswith("/campaigns/orders")
    assert orjson.loads(forwarded.body) == {"items": order["items"], "member_id": "m-1"}


async def test_a_look_up_member_svc_cannot_answer_forwards_nothing() -> None:
    upstreams, upstream = router(answer(500), upstream_attempts=1)
    async with gateway(upstreams) as client:
        refused = await client.post("/api/v1/campaigns/orders", json={"merchant_member_id": "shop-7", "items": []})
    assert refused.status_code == 503, refused.text
    assert [sent.url for sent in upstream.sent] == ["http://member.test/members/resolve"]


async def test_a_members_own_merchant_id_goes_to_member_svc_as_written() -> None:
    upstreams, upstream = router(answer(201, b'{"id": "m-1"}'))
    async with gateway(upstreams) as client:
        created = await client.post("/api/v1/members", json={"nickname": "顾客", "merchant_member_id": "shop-7"})
    assert created.status_code == 201
    [sent] = upstream.sent
    assert orjson.loads(sent.body) == {"nickname": "顾客", "merchant_member_id": "shop-7"}


async def test_naming_a_member_by_the_merchants_id_needs_the_read_of_members() -> None:
    orders_only = identity.Identity("tenant-a", "api_key:shop", ("integration",), frozenset({"orders:write"}))
    upstreams, upstream = router()
    async with gateway(upstreams, orders_only) as client:
        refused = await client.post("/api/v1/campaigns/orders", json={"merchant_member_id": "shop-7", "items": []})
    assert refused.status_code == 403, refused.text
    assert upstream.sent == []


@pytest.mark.parametrize(
    ("body", "forwarded"),
    [
        ({"member_id": "m-2", "merchant_member_id": None}, {"member_id": "m-2"}),
        ({"merchant_member_id": "shop-7", "member_id": None}, {"member_id": "m-1"}),
    ],
)
async def test_a_null_merchant_or_member_id_is_no_value(body: dict[str, Any], forwarded: dict[str, Any]) -> None:
    looked_up = answer(200, b'{"members": {"shop-7": "m-1"}, "unknown": [], "erased": []}')
    upstreams, upstream = router(*([looked_up] if body["merchant_member_id"] else []), answer(201, b"{}"))
    async with gateway(upstreams) as client:
        assert (await client.post("/api/v1/campaigns/orders", json=body)).status_code == 201
    assert orjson.loads(upstream.sent[-1].body) == forwarded


async def test_a_merchant_id_member_svc_would_refuse_is_refused_before_any_look_up() -> None:
    upstreams, upstream = router()
    async with gateway(upstreams) as client:
        refused = await client.post("/api/v1/campaigns/orders", json={"merchant_member_id": "shop\t7", "items": []})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["field"] == "body.merchant_member_id"
    assert upstream.sent == []
