"""Tenants, API keys and routing, without HTTP."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gateway_svc.accounts import callers
from gateway_svc.accounts.callers import CallerResolver
from gateway_svc.accounts.models import ApiKey
from gateway_svc.accounts.tokens import AccessTokens
from gateway_svc.exceptions import InvalidCredentials, TenantNameTaken
from gateway_svc.models import Base
from gateway_svc.tenants import service as tenants
from gateway_svc.tenants.schemas import TenantCreate, TenantCreated
from qunyun_shared.testing import in_memory_database

pytestmark = pytest.mark.unit


@pytest_asyncio.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    async with in_memory_database(Base.metadata) as engine:
        yield engine


def resolver(engine: AsyncEngine) -> CallerResolver:
    return CallerResolver(async_sessionmaker(engine), AccessTokens("s" * 32, ttl=timedelta(minutes=15)))


async def onboard(engine: AsyncEngine, name: str = "Acme") -> TenantCreated:
    async with AsyncSession(engine) as session, session.begin():
        return await tenants.create_tenant(session=session, tenant_in=TenantCreate(name=name))


async def test_a_new_tenants_key_identifies_that_tenant(engine: AsyncEngine) -> None:
    created = await onboard(engine)
    caller = await resolver(engine).identify(created.api_key)
    assert caller.tenant_id == str(created.tenant_id)
    assert caller.roles == ("owner",)


@pytest.mark.parametrize(
    "tamper", [lambda k: k[:-2] + "xx", lambda k: "qk_unknown_" + k.rsplit("_", 1)[1], lambda k: "nope"]
)
async def test_wrong_keys_identify_nobody(engine: AsyncEngine, tamper) -> None:  # type: ignore[no-untyped-def]
    created = await onboard(engine)
    with pytest.raises(InvalidCredentials):
        await resolver(engine).identify(tamper(created.api_key))


async def test_a_revoked_key_stops_working(engine: AsyncEngine) -> None:
    created = await onboard(engine)
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(update(ApiKey).values(revoked_at=datetime.now(UTC)))
    with pytest.raises(InvalidCredentials):
        await resolver(engine).identify(created.api_key)


async def test_only_a_hash_of_the_secret_is_stored(engine: AsyncEngine) -> None:
    created = await onboard(engine)
    async with AsyncSession(engine) as session:
        stored = await session.get(ApiKey, created.api_key.split("_")[1])
    assert stored is not None and created.api_key.split("_", 2)[2].encode() not in stored.secret_hash


async def test_tenant_names_are_unique(engine: AsyncEngine) -> None:
    await onboard(engine, "Acme")
    with pytest.raises(TenantNameTaken):
        await onboard(engine, "Acme")


async def test_concurrent_requests_share_one_lookup_of_an_expired_answer() -> None:
    lookups = 0

    async def lookup(key: str) -> str:
        nonlocal lookups
        lookups += 1
        await asyncio.sleep(0.01)  # a slow look-up: the callers arriving meanwhile are what is tested
        return key.upper()

    recall = callers._Recall[str, str](ttl_seconds=60)
    answers = await asyncio.gather(*(recall.get("key", lookup) for _ in range(50)))
    assert answers == ["KEY"] * 50 and lookups == 1
    assert await recall.get("key", lookup) == "KEY" and lookups == 1  # remembered
    recall.ttl_seconds = 0
    await asyncio.sleep(0.001)  # the answer outlives its time to live, however coarse the clock
    await asyncio.gather(*(recall.get("key", lookup) for _ in range(10)))
    assert lookups == 2


async def test_a_flood_of_made_up_keys_evicts_only_the_least_recently_used_answers() -> None:
    lookups: list[str] = []

    async def lookup(key: str) -> str | None:
        lookups.append(key)
        return "caller" if key == "in use" else None

    recall = callers._Recall[str, str | None](ttl_seconds=60)
    assert await recall.get("in use", lookup) == "caller"
    for n in range(12_000):  # more than is remembered, the key in use asked for all along
        await recall.get(f"made up {n}", lookup)
        if n % 1_000 == 0:
            assert await recall.get("in use", lookup) == "caller"
    assert lookups.count("in use") == 1  # never forgotten, never looked up again
    assert len(recall._answers) == 10_000  # bounded: the oldest made-up keys went first
    assert recall.fresh("made up 0") is None and recall.fresh("made up 11999") == (None,)
