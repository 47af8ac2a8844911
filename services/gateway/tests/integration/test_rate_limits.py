"""Rate limits on real Redis: budgets shared by replicas, per credential and per tenant, refusals over
HTTP with the RateLimit fields, and failing open when Redis is gone or stalls."""

import asyncio
import secrets
import shutil
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import pytest
import pytest_asyncio
from fastapi import APIRouter, FastAPI, Request
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.ext.asyncio import async_sessionmaker

from gateway_svc.config import Settings
from gateway_svc.dependencies import Caller, current_caller
from gateway_svc.models import Base
from gateway_svc.ratelimit.admission import RateLimits, open_rate_limits
from gateway_svc.ratelimit.headers import RateLimitHeaders
from gateway_svc.ratelimit.limiter import Decision, Plan, Quota
from qunyun_shared import problems
from qunyun_shared.identity import Identity
from qunyun_shared.testing import free_port, in_memory_database, wait_until
from tests.support.harness import REDIS_URL

pytestmark = pytest.mark.integration


def plan(per_credential: int, per_tenant: int, window_seconds: int = 60) -> Plan:
    return Plan(credential=Quota(per_credential, window_seconds), tenant=Quota(per_tenant, window_seconds))


@pytest_asyncio.fixture
async def prefix() -> AsyncIterator[str]:
    """A key prefix of the test's own, its keys deleted afterwards."""
    name = f"it{secrets.token_hex(4)}"
    yield name
    redis = Redis.from_url(REDIS_URL)
    async for key in redis.scan_iter(match=f"{name}:*"):
        await redis.delete(key)
    await redis.aclose()


@asynccontextmanager
async def rate_limits(
    default: Plan, *, prefix: str, redis_url: str = REDIS_URL, **other_settings: int
) -> AsyncIterator[RateLimits]:
    """The gateway's rate limiting as main.py opens it, every tenant on `default`."""
    settings = Settings(
        **other_settings,  # type: ignore[arg-type]
        database_url="sqlite+aiosqlite://",
        internal_token_secret=secrets.token_urlsafe(32),
        platform_admin_token=secrets.token_urlsafe(32),
        access_token_secret=secrets.token_urlsafe(32),
        webhook_secret_key="a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s=",
        redis_url=redis_url,
        redis_key_prefix=prefix,
        rate_limit_per_credential=default.credential.limit,
        rate_limit_per_tenant=default.tenant.limit,
        rate_limit_window_seconds=default.tenant.window_seconds,
    )
    async with (
        in_memory_database(Base.metadata) as engine,
        open_rate_limits(settings=settings, sessionmaker=async_sessionmaker(engine)) as limits,
    ):
        yield limits


async def charge(limits: RateLimits, tenant_id: str, principal: str) -> Decision | None:
    plan_ = await limits.plans.plan_for(tenant_id)
    return await limits.limiter.charge(tenant_id=tenant_id, principal=principal, plan=plan_)


def tenant() -> str:
    return str(uuid.uuid4())


def unchecked() -> float:
    return REGISTRY.get_sample_value("qunyun_gateway_rate_limit_unchecked_total") or 0.0


async def test_two_gateway_replicas_share_one_budget(prefix: str) -> None:
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(rate_limits(plan(4, 100), prefix=prefix))
        second = await stack.enter_async_context(rate_limits(plan(4, 100), prefix=prefix))
        tenant_id = tenant()
        decisions = [await charge(replica, tenant_id, "api_key:a") for replica in (first, second) * 3]

    assert all(decision is not None for decision in decisions)
    assert [d.admitted for d in decisions if d] == [True, True, True, True, False, False]
    assert [d.budgets[0].remaining for d in decisions if d][:4] == [3, 2, 1, 0]


async def test_a_tenants_budget_caps_its_keys_together_and_spares_other_tenants(prefix: str) -> None:
    async with rate_limits(plan(3, 4), prefix=prefix) as limits:
        busy, quiet = tenant(), tenant()
        first_key = [await charge(limits, busy, "api_key:a") for _ in range(3)]
        second_key = [await charge(limits, busy, "api_key:b") for _ in range(3)]
        other_tenant = await charge(limits, quiet, "api_key:c")

    assert all(d and d.admitted for d in first_key)
    assert [d.admitted for d in second_key if d] == [True, False, False]
    assert [d.violated for d in second_key if d] == [[], ["tenant"], ["tenant"]]
    assert other_tenant and other_tenant.admitted
    assert [b.remaining for b in other_tenant.budgets] == [2, 3]


async def test_a_refused_request_is_charged_to_neither_budget(prefix: str) -> None:
    async with rate_limits(plan(3, 4), prefix=prefix) as limits:
        tenant_id = tenant()
        for _ in range(3):
            await charge(limits, tenant_id, "api_key:a")
        await charge(limits, tenant_id, "api_key:b")
        refusals = [await charge(limits, tenant_id, "api_key:b") for _ in range(5)]

    assert all(d and not d.admitted for d in refusals)
    # b spent one of its three; the refusals took nothing from it, nor pushed the tenant's refill back.
    assert {d.budgets[0].remaining for d in refusals if d} == {2}
    assert {d.budgets[1].remaining for d in refusals if d} == {0}
    assert max(d.retry_after_seconds for d in refusals if d) == refusals[0].retry_after_seconds  # type: ignore[union-attr]


async def test_after_waiting_retry_after_a_request_is_admitted_again(prefix: str) -> None:
    async with rate_limits(plan(2, 10, window_seconds=1), prefix=prefix) as limits:
        tenant_id = tenant()
        admitted = [await charge(limits, tenant_id, "api_key:a") for _ in range(2)]
        refused = await charge(limits, tenant_id, "api_key:a")
        assert refused is not None and not refused.admitted
        assert refused.retry_after_seconds == 1
        assert refused.budgets[0].reset_seconds == refused.retry_after_seconds
        # Waiting out the window is what is tested: Retry-After is how long a client has to wait, and no less.
        await asyncio.sleep(refused.retry_after_seconds)
        again = await charge(limits, tenant_id, "api_key:a")

    assert all(d and d.admitted for d in admitted)
    assert again is not None and again.admitted


def gateway_routes(limits: RateLimits, reached: list[str]) -> FastAPI:
    """A route behind the gateway's own `Caller` dependency and RateLimitHeaders middleware; who is
    calling comes from a test header instead of a credential (authentication is tested on its own)."""
    app = FastAPI()
    problems.install(app)
    router = APIRouter()

    @router.post("/api/v1/members", status_code=201)
    async def create_member(caller: Caller) -> dict[str, str]:
        reached.append(caller.principal)
        return {"created_by": caller.principal}

    async def caller_of(request: Request) -> Identity:
        tenant_id, principal = request.headers["x-test-caller"].split("/")
        return Identity(tenant_id=tenant_id, principal=principal, roles=("owner",), permissions=frozenset({"*"}))

    app.include_router(router)
    app.add_middleware(RateLimitHeaders)
    app.dependency_overrides[current_caller] = caller_of
    app.state.rate_limits = limits
    return app


@asynccontextmanager
async def client_of(app: FastAPI, caller: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gw", headers={"x-test-caller": caller}) as c:
        yield c


async def test_a_refusal_is_a_429_problem_with_the_fields_and_never_reaches_the_service(prefix: str) -> None:
    reached: list[str] = []
    async with AsyncExitStack() as stack:
        limits = await stack.enter_async_context(rate_limits(plan(2, 50, window_seconds=30), prefix=prefix))
        api = await stack.enter_async_context(client_of(gateway_routes(limits, reached), f"{tenant()}/api_key:a"))
        responses = [await api.post("/api/v1/members", json={}) for _ in range(3)]

    admitted, refused = responses[:2], responses[2]
    assert [r.status_code for r in admitted] == [201, 201]
    for response, left in zip(admitted, (1, 0), strict=True):
        assert response.headers["ratelimit-policy"] == '"credential";q=2;w=30, "tenant";q=50;w=30'
        assert response.headers["ratelimit"].startswith(f'"credential";r={left};t=')
        assert "retry-after" not in response.headers
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    body = refused.json()
    assert body["type"].endswith("/rate-limited") and body["status"] == 429
    assert body["violated-policies"] == ["credential"]
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 15  # one request's share of the window: 30 s / 2
    assert refused.headers["ratelimit"] == f'"credential";r=0;t={retry_after}, "tenant";r=48;t=2'
    assert refused.headers["ratelimit-policy"] == admitted[0].headers["ratelimit-policy"]
    assert len(reached) == 2


@asynccontextmanager
async def private_redis(port: int) -> AsyncIterator[None]:
    """A Redis server of this test's own, so stopping it disturbs no one else's."""
    binary = shutil.which("redis-server")
    assert binary, "redis-server is installed by scripts/infra/redis.sh"
    server = await asyncio.create_subprocess_exec(
        binary,
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        stdout=asyncio.subprocess.DEVNULL,
    )
    try:
        client = Redis(port=port)

        async def answers() -> bool:
            try:
                return bool(await client.ping())
            except RedisConnectionError:
                return False

        await wait_until(answers, what="the private redis-server answering")
        await client.aclose()
        yield
    finally:
        server.kill()
        await server.wait()


async def test_while_redis_is_down_requests_pass_unchecked_and_checks_resume_when_it_is_back() -> None:
    port = free_port()
    prefix = f"it{secrets.token_hex(4)}"
    reached: list[str] = []
    async with rate_limits(plan(5, 50), prefix=prefix, redis_url=f"redis://127.0.0.1:{port}/0") as limits:
        limits.limiter.pause_seconds = 0.2
        app = gateway_routes(limits, reached)
        async with client_of(app, f"{tenant()}/api_key:a") as api:
            async with private_redis(port):
                assert "ratelimit" in (await api.post("/api/v1/members", json={})).headers
            unchecked_before = unchecked()
            down = [await api.post("/api/v1/members", json={}) for _ in range(3)]
            assert [r.status_code for r in down] == [201, 201, 201]
            assert not any("ratelimit" in r.headers for r in down)
            assert unchecked() == unchecked_before + 3
            async with private_redis(port):
                # The limiter leaves Redis alone this long after a failure, by design: waited out, not polled,
                # since each request would spend from the fresh budget this test reads.
                await asyncio.sleep(limits.limiter.pause_seconds)
                back = await api.post("/api/v1/members", json={})
    assert back.status_code == 201
    # A fresh Redis: a fresh budget, and the script loaded again.
    assert back.headers["ratelimit"].startswith('"credential";r=4;')
    assert len(reached) == 5


async def test_a_stalled_redis_holds_a_burst_of_requests_for_one_timeout_not_one_each() -> None:
    stalled: list[asyncio.StreamWriter] = []

    async def accept_and_say_nothing(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stalled.append(writer)

    server = await asyncio.start_server(accept_and_say_nothing, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with rate_limits(plan(5, 50), prefix="itstall", redis_url=f"redis://127.0.0.1:{port}/0") as limits:
            limits.limiter.pause_seconds = 60  # no second try within the test, however slow the machine
            tenant_id = tenant()
            # Without the 0.1 s socket timeouts this would hang until the deadline.
            async with asyncio.timeout(10):
                decisions = await asyncio.gather(*(charge(limits, tenant_id, f"api_key:{n}") for n in range(2000)))
    finally:
        for writer in stalled:
            writer.close()
        server.close()
        await server.wait_closed()
    assert decisions == [None] * 2000
    # Only the checks in flight when Redis first failed waited for it (one connection each, no retry);
    # those queued behind them skipped it rather than wait for timeouts 32 at a time.
    assert 1 <= len(stalled) <= 32
