"""The tenant comes only from the credential: no route shows one tenant another tenant's data."""

from collections.abc import AsyncIterator

import httpx
import pytest

from qunyun_shared import identity
from tests.e2e.helpers import join, new_community, new_members, wait_for_count
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
