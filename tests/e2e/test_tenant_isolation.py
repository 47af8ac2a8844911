"""The tenant comes only from the credential: no route shows one tenant another tenant's data."""

import re
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from qunyun_shared import identity
from tests.e2e.helpers import idempotency_key, join, known_to_campaigns, new_community, new_members, wait_for_count
from tests.support.harness import Platform, TenantKey

pytestmark = pytest.mark.e2e


@pytest.fixture
async def other_tenant_api(platform: Platform, http: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    other = await platform.new_tenant(http)
    async with httpx.AsyncClient(
        base_url=f"{platform.url('gateway')}/api/v1", headers={"Authorization": f"Bearer {other.api_key}"}
    ) as client:
        yield client


async def test_another_tenant_sees_nothing_of_a_community(
    tenant_api: httpx.AsyncClient, other_tenant_api: httpx.AsyncClient
) -> None:
    community_id = await new_community(tenant_api)
    (member_id,) = await new_members(tenant_api, 1)
    assert (await join(tenant_api, community_id, member_id)).status_code == 201
    await wait_for_count(tenant_api, community_id, 1)

    assert (await other_tenant_api.get(f"/communities/{community_id}")).status_code == 404
    assert (await other_tenant_api.get(f"/members/{member_id}")).status_code == 404
    assert community_id not in {c["id"] for c in (await other_tenant_api.get("/communities")).json()}
    (intruder,) = await new_members(other_tenant_api, 1)
    assert (await join(other_tenant_api, community_id, intruder)).status_code == 404
    assert (await other_tenant_api.get(f"/analytics/communities/{community_id}/members")).json()["members"] == 0
    assert (await other_tenant_api.get(f"/content/communities/{community_id}/audience")).status_code == 404
    assert (await other_tenant_api.get(f"/campaigns/members/{member_id}")).status_code == 404


async def test_client_supplied_identity_headers_are_ignored(
    platform: Platform, tenant: TenantKey, tenant_api: httpx.AsyncClient, other_tenant_api: httpx.AsyncClient
) -> None:
    community_id = await new_community(tenant_api)
    assert (await tenant_api.get(f"/communities/{community_id}")).status_code == 200
    # A validly signed identity of the owning tenant, smuggled in by another tenant's client:
    # honoured, it would open the community; the gateway replaces it with the caller's own.
    smuggled = platform.identity_header(tenant.tenant_id) | {"X-Tenant-Id": tenant.tenant_id}
    assert (await other_tenant_api.get(f"/communities/{community_id}", headers=smuggled)).status_code == 404
    direct = f"{platform.url('member-svc')}/communities/{community_id}"
    async with httpx.AsyncClient() as client:  # the smuggled header really is a key to the community
        assert (await client.get(direct, headers=smuggled)).status_code == 200


async def test_services_refuse_calls_without_a_valid_gateway_signature(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    url = f"{platform.url('member-svc')}/communities"
    assert (await http.get(url)).status_code == 401
    forged = identity.sign(identity.Identity(tenant_id="t", principal="p"), "not-the-platform-secret" * 2)
    assert (await http.get(url, headers={identity.IDENTITY_HEADER: forged})).status_code == 401
    assert (await http.get(url, headers=platform.identity_header("t"))).status_code == 200


async def test_no_read_route_shows_another_tenants_data(
    platform: Platform, http: httpx.AsyncClient, tenant_api: httpx.AsyncClient, other_tenant_api: httpx.AsyncClient
) -> None:
    """Every GET route of the public API (from the gateway's merged OpenAPI document), called by another
    tenant with this tenant's ids in its path, answers nothing of this tenant's: not a name, not an id."""
    marker = f"secret{uuid.uuid4().hex[:10]}"
    world = await _a_tenants_world(tenant_api, marker)
    document = (await http.get(f"{platform.url('gateway')}/openapi.json")).json()
    routes = [
        path.removeprefix("/api/v1")
        for path, ops in document["paths"].items()
        if "get" in ops and path.startswith("/api/v1/")
    ]
    assert len(routes) > 40 and all(path.startswith("/") for path in routes)
    called = 0
    for route in routes:
        path = route
        for name in re.findall(r"{(\w+)}", route):
            path = path.replace(f"{{{name}}}", world.get(name, str(uuid.uuid4())))
        if "{" in path or route.startswith(("/auth", "/views")):
            continue  # the caller's own session and the views (tested on their own) read no tenant by path
        response = await other_tenant_api.get(path, params=_required_query(document, route))
        called += 1
        assert response.status_code < 500, f"{route}: {response.text}"
        secrets_ = [marker, *(value for name, value in world.items() if name.endswith("_id"))]
        leaked = [value for value in secrets_ if value in response.text and value not in path]
        assert not leaked, f"GET {route} shows another tenant's {leaked}"
    assert called > 40


async def _a_tenants_world(api: httpx.AsyncClient, marker: str) -> dict[str, str]:
    """One of everything a tenant owns, each named with `marker`: the ids, by the path names that take them."""
    community_id = await new_community(api)
    await api.patch(f"/communities/{community_id}", json={"name": f"{marker} community"})
    member = await api.post("/members", json={"nickname": f"{marker} member", "phone": "13800001111"})
    member_id = member.json()["id"]
    await known_to_campaigns(api, community_id, [member_id])
    item = {"content_type": "knowledge", "title": f"{marker} lesson", "body": marker, "tags": ["辅食"]}
    content_id = (await api.post("/content/items", json=item)).json()["id"]
    campaign_id = (await api.post("/campaigns", json={"kind": "coupon", "name": f"{marker} sale"})).json()["id"]
    template = {
        "campaign_id": campaign_id,
        "name": f"{marker} coupon",
        "discount": "amount_off",
        "amount_off_fen": 100,
        "valid_days": 7,
    }
    template_id = (await api.post("/campaigns/coupon-templates", json=template)).json()["id"]
    coupon = await api.post(
        f"/campaigns/coupon-templates/{template_id}/coupons", json={"member_id": member_id}, headers=idempotency_key()
    )
    order = {"member_id": member_id, "items": [{"product_id": marker, "quantity": 1, "unit_price_fen": 990}]}
    order_id = (await api.post("/campaigns/orders", json=order, headers=idempotency_key())).json()["id"]
    survey = {"title": f"{marker} survey", "questions": [{"id": "nps", "text": marker, "kind": "nps"}]}
    survey_id = (await api.post("/content/surveys", json=survey)).json()["id"]
    return {
        "community_id": community_id,
        "member_id": member_id,
        "content_id": content_id,
        "campaign_id": campaign_id,
        "template_id": template_id,
        "coupon_id": coupon.json()["id"],
        "order_id": order_id,
        "survey_id": survey_id,
        "kpi": "gmv",
    }


def _required_query(document: dict[str, Any], route: str) -> dict[str, str]:
    """Values for a route's required query parameters: a date range where one is needed."""
    today = datetime.now(UTC).date()
    values = {"from": (today - timedelta(days=30)).isoformat(), "to": today.isoformat()}
    parameters = document["paths"][f"/api/v1{route}"]["get"].get("parameters", [])
    return {p["name"]: values.get(p["name"], "1") for p in parameters if p["in"] == "query" and p.get("required")}
