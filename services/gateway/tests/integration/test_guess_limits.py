"""What costs the gateway work before anyone is authenticated, limited on the real Redis and, with
Redis unreachable, in process: sign-in attempts per account and per client address (no budget that
one client can spend for everyone), and API keys found unknown per client address."""

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.requests import Request

from gateway_svc.accounts.callers import CallerResolver
from gateway_svc.accounts.tokens import AccessTokens
from gateway_svc.dependencies import Caller
from gateway_svc.exceptions import RateLimited
from gateway_svc.models import Base
from gateway_svc.ratelimit.admission import RateLimits
from gateway_svc.ratelimit.headers import STATE_KEY, RateLimitHeaders
from gateway_svc.tenants import service as tenants
from gateway_svc.tenants.schemas import TenantCreate
from qunyun_shared import problems
from qunyun_shared.testing import free_port, in_memory_database

from .test_rate_limits import plan, prefix, rate_limits, unchecked

pytestmark = pytest.mark.integration
__all__ = ["prefix"]  # the fixture, shared with test_rate_limits

ROOMY = plan(1000, 1000)


def from_address(address: str) -> Request:
    return Request(
        {
            "type": "http",
            "method": "POST",
            "path": "/api/v1/auth/login",
            "headers": [],
            "state": {},
            "client": (address, 40_000),
        }
    )


async def admitted(limits: RateLimits, email: str, address: str) -> bool:
    try:
        await limits.admit_sign_in(from_address(address), email)
    except RateLimited:
        return False
    return True


def unreachable_redis() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there


async def test_one_address_spraying_accounts_is_stopped_and_locks_out_no_one_else(prefix: str) -> None:
    async with rate_limits(ROOMY, prefix=prefix, sign_in_per_address=3) as limits:
        # More attempts than the old platform-wide budget of 100 a minute, each at another account.
        sprayed = [await admitted(limits, f"victim-{n}@acme.example", "203.0.113.9") for n in range(150)]
        others = [await admitted(limits, f"op@tenant-{n}.example", f"198.51.100.{n}") for n in range(20)]
    assert sprayed == [True] * 3 + [False] * 147
    assert all(others)


async def test_guesses_at_one_account_are_limited_whichever_addresses_they_come_from(prefix: str) -> None:
    async with rate_limits(ROOMY, prefix=prefix, sign_in_per_account=3) as limits:
        guesses = [await admitted(limits, "owner@acme.example", f"198.51.100.{n}") for n in range(5)]
        another_account = await admitted(limits, "analyst@acme.example", "198.51.100.1")
    assert guesses == [True, True, True, False, False]
    assert another_account


async def test_while_redis_is_unreachable_sign_ins_are_held_to_an_in_process_limit() -> None:
    before = unchecked()
    async with rate_limits(
        ROOMY, prefix="itdown", redis_url=unreachable_redis(), sign_in_per_account=3, sign_in_per_address=5
    ) as limits:
        limits.limiter.pause_seconds = 0  # every attempt really asks the unreachable Redis
        guesses = [await admitted(limits, "owner@acme.example", f"198.51.100.{n}") for n in range(4)]
        sprayed = [await admitted(limits, f"victim-{n}@acme.example", "203.0.113.9") for n in range(7)]
        refused = from_address("203.0.113.9")
        with pytest.raises(RateLimited) as caught:
            await limits.admit_sign_in(refused, "victim-99@acme.example")
    assert guesses == [True, True, True, False]
    assert sprayed == [True] * 5 + [False] * 2
    assert caught.value.extensions["violated-policies"] == ["address"]
    decision = getattr(refused.state, STATE_KEY)
    assert decision.retry_after_seconds >= 1
    assert unchecked() >= before + 4 + 7  # Redis was asked, failed, and the local limit held


# --- API keys nobody issued ------------------------------------------------------------------


@asynccontextmanager
async def keyed_gateway(limits: RateLimits) -> AsyncIterator[tuple[FastAPI, str, list[str]]]:
    """A route behind the gateway's own `Caller` dependency (credential resolver, unknown-key limit and
    rate limits), a tenant's real API key, and the statements its database was sent."""
    async with in_memory_database(Base.metadata) as engine:
        async with AsyncSession(engine) as session, session.begin():
            created = await tenants.create_tenant(session=session, tenant_in=TenantCreate(name="Acme"))
        statements = _recorded(engine)
        app = FastAPI()
        problems.install(app)
        router = APIRouter()

        @router.get("/api/v1/whoami")
        async def whoami(caller: Caller) -> dict[str, str]:
            return {"tenant_id": caller.tenant_id}

        app.include_router(router)
        app.add_middleware(RateLimitHeaders)
        tokens = AccessTokens(secrets.token_urlsafe(32), ttl=timedelta(minutes=15))
        app.state.callers = CallerResolver(async_sessionmaker(engine), tokens)
        app.state.rate_limits = limits
        yield app, created.api_key, statements


def _recorded(engine: AsyncEngine) -> list[str]:
    statements: list[str] = []

    def record(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    return statements


def client(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40_000))
    return httpx.AsyncClient(transport=transport, base_url="http://gw")


def made_up_key() -> str:
    return f"qk_{secrets.token_hex(8)}_{secrets.token_urlsafe(32)}"


@pytest.mark.parametrize("redis", ["up", "unreachable"])
async def test_made_up_api_keys_are_refused_per_address_before_the_database_is_asked(prefix: str, redis: str) -> None:
    url = {"up": None, "unreachable": unreachable_redis()}[redis]
    async with (
        rate_limits(ROOMY, prefix=prefix, unknown_keys_per_address=3, **({"redis_url": url} if url else {})) as limits,
        keyed_gateway(limits) as (app, api_key, statements),
        client(app, "203.0.113.9") as attacker,
        client(app, "198.51.100.7") as partner,
    ):
        made_up = [await attacker.get("/api/v1/whoami", headers={"X-Api-Key": made_up_key()}) for _ in range(6)]
        looked_up = len(statements)
        # Before authentication: even a real key, not yet known to the gateway, waits from that address.
        real_from_attacker = await attacker.get("/api/v1/whoami", headers={"X-Api-Key": api_key})
        looked_up_after = len(statements)
        real_elsewhere = await partner.get("/api/v1/whoami", headers={"X-Api-Key": api_key})

    assert [r.status_code for r in made_up] == [401, 401, 401, 429, 429, 429]
    refused = made_up[3]
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("/rate-limited")
    assert refused.json()["violated-policies"] == ["address"]
    assert int(refused.headers["retry-after"]) >= 1
    assert looked_up == 4  # the fifth and sixth never reached the database
    assert real_from_attacker.status_code == 429 and looked_up_after == looked_up
    assert real_elsewhere.status_code == 200, real_elsewhere.text
