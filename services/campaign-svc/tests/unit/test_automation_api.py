"""The automation routes: status codes, a rule with a typo refused at creation, other tenants' rules unseen."""

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.automation.api import router
from campaign_svc.models import Base
from qunyun_shared.identity import Identity
from qunyun_shared.testing import in_memory_database, routes_client

pytestmark = pytest.mark.unit

TAG_RULE = {"name": "买家标签", "trigger": "order.paid", "actions": [{"type": "add_tag", "tag": "buyer"}]}


class Caller:
    tenant_id = "tenant-a"


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with in_memory_database(Base.metadata) as engine, AsyncSession(engine, expire_on_commit=False) as session:

        def caller() -> Identity:  # read at each request: a test may switch tenants
            return Identity(tenant_id=Caller.tenant_id, principal="test")

        async with routes_client(session, [router], caller) as http:
            yield http
    Caller.tenant_id = "tenant-a"


async def test_a_rule_is_created_read_disabled_and_deleted(client: httpx.AsyncClient) -> None:
    created = await client.post("/campaigns/automations", json=TAG_RULE)
    assert created.status_code == 201, created.text
    rule_id = created.json()["id"]
    assert [r["id"] for r in (await client.get("/campaigns/automations")).json()] == [rule_id]
    assert (await client.get(f"/campaigns/automations/{rule_id}")).json()["enabled"] is True
    patched = await client.patch(f"/campaigns/automations/{rule_id}", json={"enabled": False})
    assert patched.json()["enabled"] is False
    assert (await client.get(f"/campaigns/automations/{rule_id}/runs")).json() == {"runs": [], "next_cursor": None}
    member_runs = await client.get("/campaigns/automations/runs", params={"member_id": str(uuid.uuid4())})
    assert member_runs.status_code == 200 and member_runs.json()["runs"] == []
    assert (await client.delete(f"/campaigns/automations/{rule_id}")).status_code == 204
    gone = await client.get(f"/campaigns/automations/{rule_id}")
    assert (gone.status_code, gone.json()["type"]) == (404, "https://qunyun.dev/problems/automation-rule-not-found")


async def test_a_typo_is_a_422_at_creation(client: httpx.AsyncClient) -> None:
    typo = {**TAG_RULE, "conditions": [{"subject": "member", "field": "levle", "op": "gte", "value": 2}]}
    refused = await client.post("/campaigns/automations", json=typo)
    assert refused.status_code == 422
    assert "member.levle is not a field of a member" in refused.text
    unknown = await client.post(
        "/campaigns/automations/playbooks/anniversary", json={"coupon_template_id": str(uuid.uuid4())}
    )
    assert unknown.status_code == 422


async def test_another_tenants_rule_is_not_found(client: httpx.AsyncClient) -> None:
    rule_id = (await client.post("/campaigns/automations", json=TAG_RULE)).json()["id"]
    Caller.tenant_id = "tenant-b"
    assert (await client.get(f"/campaigns/automations/{rule_id}")).status_code == 404
    assert (await client.patch(f"/campaigns/automations/{rule_id}", json={"enabled": False})).status_code == 404
    assert (await client.get(f"/campaigns/automations/{rule_id}/runs")).status_code == 404
    assert (await client.get("/campaigns/automations")).json() == []
