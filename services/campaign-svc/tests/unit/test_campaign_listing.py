"""Listing campaigns: a community sees those run in it and those run in every community, never another's."""

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.campaigns.api import router
from campaign_svc.db import MESSAGING
from campaign_svc.models import Base
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_database, routes_client

pytestmark = pytest.mark.unit

OUTBOX = Outbox(table=MESSAGING.outbox, source="campaign-svc", topic_prefix="qunyun")
COMMUNITY, SIBLING = uuid.uuid4(), uuid.uuid4()


class Caller:
    tenant_id = "tenant-a"


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with in_memory_database(Base.metadata) as engine, AsyncSession(engine, expire_on_commit=False) as session:

        def caller() -> Identity:  # read at each request: a test may switch tenants
            return Identity(tenant_id=Caller.tenant_id, principal="test")

        async with routes_client(session, [router], caller, OUTBOX) as http:
            yield http
    Caller.tenant_id = "tenant-a"


async def create(client: httpx.AsyncClient, name: str, **fields: object) -> dict[str, object]:
    created = await client.post("/campaigns", json={"kind": "coupon", "name": name, **fields})
    assert created.status_code == 201, created.text
    return dict(created.json())


async def names(client: httpx.AsyncClient, **params: str) -> set[str]:
    listed = await client.get("/campaigns", params=params)
    assert listed.status_code == 200, listed.text
    return {c["name"] for c in listed.json()}


async def test_a_community_lists_its_own_campaigns_and_those_of_every_community(client: httpx.AsyncClient) -> None:
    everywhere = await create(client, "会员日")
    own = await create(client, "宝妈群满减", community_id=str(COMMUNITY))
    await create(client, "健身群秒杀", community_id=str(SIBLING))
    await create(client, "下周预告", community_id=str(COMMUNITY), starts_at="2099-01-01T00:00:00+08:00")
    Caller.tenant_id = "tenant-b"
    await create(client, "别家的", community_id=str(COMMUNITY))
    Caller.tenant_id = "tenant-a"

    assert (everywhere["community_id"], own["community_id"]) == (None, str(COMMUNITY))
    assert await names(client, community_id=str(COMMUNITY)) == {"会员日", "宝妈群满减", "下周预告"}
    assert await names(client, community_id=str(COMMUNITY), status="running") == {"会员日", "宝妈群满减"}
    assert await names(client) == {"会员日", "宝妈群满减", "健身群秒杀", "下周预告"}


async def test_a_malformed_community_is_refused(client: httpx.AsyncClient) -> None:
    refused = await client.get("/campaigns", params={"community_id": "宝妈群"})
    assert (refused.status_code, refused.headers["content-type"]) == (422, "application/problem+json")
    malformed = await client.post("/campaigns", json={"kind": "coupon", "name": "x", "community_id": "nope"})
    assert (malformed.status_code, malformed.headers["content-type"]) == (422, "application/problem+json")
