"""Rate limits through the real gateway: a tenant's own plan, 429 with Retry-After and the RateLimit
fields once a key has spent it, and nothing written by a refused request."""

import uuid

import httpx
import pytest

from tests.support.harness import Platform, TenantKey

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"


def limits_url(platform: Platform, tenant_id: str) -> str:
    return f"{platform.url('gateway')}/admin/tenants/{tenant_id}/rate-limits"


def as_admin(platform: Platform) -> dict[str, str]:
    return {"Authorization": f"Bearer {platform.admin_token}"}


async def test_a_key_past_its_tenants_plan_gets_429_with_the_fields_and_writes_nothing(
    platform: Platform, http: httpx.AsyncClient, tenant: TenantKey, tenant_api: httpx.AsyncClient
) -> None:
    plan = {"per_credential": 3, "per_tenant": 10, "window_seconds": 60}
    put = await http.put(limits_url(platform, tenant.tenant_id), json=plan, headers=as_admin(platform))
    assert put.status_code == 200, put.text
    assert put.json() == {**plan, "tenant_id": tenant.tenant_id, "custom": True}

    responses = [await tenant_api.post("/members", json={"nickname": f"member {n}"}) for n in range(5)]

    assert [r.status_code for r in responses] == [201, 201, 201, 429, 429]
    assert {r.headers["ratelimit-policy"] for r in responses} == {'"credential";q=3;w=60, "tenant";q=10;w=60'}
    credential_left = [r.headers["ratelimit"].split(", ")[0].split(";")[1] for r in responses]
    assert credential_left == ["r=2", "r=1", "r=0", "r=0", "r=0"]
    refused = responses[3]
    assert refused.headers["content-type"] == PROBLEM
    body = refused.json()
    assert body["type"].endswith("/rate-limited") and body["status"] == 429
    assert body["violated-policies"] == ["credential"]
    # One request's share of the window is 20 s; the third was admitted a moment ago.
    assert 1 <= int(refused.headers["retry-after"]) <= 20

    reset = await http.delete(limits_url(platform, tenant.tenant_id), headers=as_admin(platform))
    assert reset.status_code == 200 and reset.json()["custom"] is False
    # Back on the default plan at once, with whole budgets; and only the admitted members exist.
    listed = await tenant_api.get("/members", params={"limit": 200})
    assert listed.status_code == 200, listed.text
    assert sorted(m["nickname"] for m in listed.json()["members"]) == ["member 0", "member 1", "member 2"]
    assert "q=1000000" in listed.headers["ratelimit-policy"]


async def test_a_tenants_plan_is_the_platform_admins_to_set_and_checked(
    platform: Platform, http: httpx.AsyncClient, tenant: TenantKey
) -> None:
    url = limits_url(platform, tenant.tenant_id)
    on_default = await http.get(url, headers=as_admin(platform))
    assert on_default.status_code == 200 and on_default.json()["custom"] is False

    plan = {"per_credential": 5, "per_tenant": 10, "window_seconds": 60}
    as_tenant = {"Authorization": f"Bearer {tenant.api_key}"}
    cases = [
        (await http.put(url, json=plan, headers=as_tenant), 401, "invalid-credentials"),
        (await http.put(url, json={**plan, "per_credential": 11}, headers=as_admin(platform)), 422, "invalid-input"),
        (await http.put(url, json={**plan, "window_seconds": 0}, headers=as_admin(platform)), 422, "invalid-input"),
        (
            await http.put(limits_url(platform, str(uuid.uuid4())), json=plan, headers=as_admin(platform)),
            404,
            "tenant-not-found",
        ),
    ]
    for response, status, slug in cases:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["type"].endswith("/" + slug)
    assert (await http.get(url, headers=as_admin(platform))).json() == on_default.json()
