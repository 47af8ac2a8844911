"""Tenants, API keys and routing, without HTTP."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from gateway_svc import credentials
from gateway_svc.exceptions import InvalidCredentials, TenantNameTaken
from gateway_svc.models import ApiKey, Base
from gateway_svc.proxy import ROUTES
from gateway_svc.schemas import TenantCreate
from tests.support.harness import in_memory_database

pytestmark = pytest.mark.unit


@pytest_asyncio.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    async with in_memory_database(Base.metadata) as engine:
        yield engine


async def onboard(engine: AsyncEngine, name: str = "Acme") -> credentials.TenantCreated:
    async with AsyncSession(engine) as session, session.begin():
        return await credentials.create_tenant(session=session, tenant_in=TenantCreate(name=name))


async def test_a_new_tenants_key_identifies_that_tenant(engine: AsyncEngine) -> None:
    created = await onboard(engine)
    resolver = credentials.ApiKeyResolver(async_sessionmaker(engine))
    caller = await resolver.identify(created.api_key)
    assert caller.tenant_id == str(created.tenant_id)
    assert caller.roles == ("owner",)


@pytest.mark.parametrize(
    "tamper", [lambda k: k[:-2] + "xx", lambda k: "qk_unknown_" + k.rsplit("_", 1)[1], lambda k: "nope"]
)
async def test_wrong_keys_identify_nobody(engine: AsyncEngine, tamper) -> None:  # type: ignore[no-untyped-def]
    created = await onboard(engine)
    with pytest.raises(InvalidCredentials):
        await credentials.ApiKeyResolver(async_sessionmaker(engine)).identify(tamper(created.api_key))


async def test_a_revoked_key_stops_working(engine: AsyncEngine) -> None:
    created = await onboard(engine)
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(update(ApiKey).values(revoked_at=datetime.now(UTC)))
    with pytest.raises(InvalidCredentials):
        await credentials.ApiKeyResolver(async_sessionmaker(engine)).identify(created.api_key)


async def test_only_a_hash_of_the_secret_is_stored(engine: AsyncEngine) -> None:
    created = await onboard(engine)
    async with AsyncSession(engine) as session:
        stored = await session.get(ApiKey, created.api_key.split("_")[1])
    assert stored is not None and created.api_key.split("_", 2)[2].encode() not in stored.secret_hash


async def test_tenant_names_are_unique(engine: AsyncEngine) -> None:
    await onboard(engine, "Acme")
    with pytest.raises(TenantNameTaken):
        await onboard(engine, "Acme")


def test_every_resource_has_one_owning_service() -> None:
    assert set(ROUTES.values()) == {"member", "content", "campaign", "analytics"}
