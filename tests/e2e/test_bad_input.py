"""Bad input anywhere: a 4xx problem+json, and nothing written (no row, no event)."""

import uuid

import httpx
import pytest

from qunyun_shared.testing import Platform
from tests.e2e.helpers import join, new_community, new_members, wait_for_count

pytestmark = pytest.mark.e2e

PROBLEM = "application/problem+json"


def assert_problem(response: httpx.Response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["type"].endswith("/" + slug) and body["detail"]


async def test_rejected_joins_write_nothing(tenant_api: httpx.AsyncClient) -> None:
    community_id, full_community = await new_community(tenant_api), await new_community(tenant_api, capacity=1)
    first, second = await new_members(tenant_api, 2)
    assert (await join(tenant_api, community_id, first)).status_code == 201
    assert (await join(tenant_api, full_community, first)).status_code == 201

    assert_problem(await join(tenant_api, community_id, first), 409, "already-member")
    assert_problem(await join(tenant_api, full_community, second), 409, "community-full")
    assert_problem(await join(tenant_api, str(uuid.uuid4()), second), 404, "community-not-found")
    assert_problem(await join(tenant_api, community_id, str(uuid.uuid4())), 404, "member-not-found")
    self_invite = {"member_id": second, "channel": "invite", "inviter_id": second}
    assert_problem(await tenant_api.post(f"/communities/{community_id}/members", json=self_invite), 422, "self-invite")

    # A later accepted join of the same member shares their partition, so once it is counted,
    # any event of the rejected joins before it would have been counted as well.
    assert (await join(tenant_api, community_id, second)).status_code == 201
    await wait_for_count(tenant_api, community_id, 2)
    await wait_for_count(tenant_api, full_community, 1)
    seats = (await tenant_api.get(f"/communities/{full_community}")).json()
    assert (seats["member_count"], seats["capacity"]) == (1, 1)


async def test_malformed_requests_are_problems_with_field_details(tenant_api: httpx.AsyncClient) -> None:
    before = (await tenant_api.get("/communities")).json()

    not_json = await tenant_api.post("/communities", content=b"{name", headers={"content-type": "application/json"})
    assert_problem(not_json, 422, "invalid-input")

    wrong = await tenant_api.post("/communities", json={"name": "", "kind": "party", "capacity": -1, "extra": 1})
    assert_problem(wrong, 422, "invalid-input")
    fields = {error["field"] for error in wrong.json()["errors"]}
    assert fields == {"body.name", "body.kind", "body.capacity", "body.extra"}

    assert_problem(await tenant_api.get("/communities/not-a-uuid"), 422, "invalid-input")
    assert_problem(await tenant_api.get("/nowhere"), 404, "unknown-route")
    assert (await tenant_api.get("/communities")).json() == before


async def test_duplicate_community_name_is_a_conflict(tenant_api: httpx.AsyncClient) -> None:
    body = {"name": f"重名群-{uuid.uuid4().hex[:6]}", "kind": "interest"}
    assert (await tenant_api.post("/communities", json=body)).status_code == 201
    assert_problem(await tenant_api.post("/communities", json=body), 409, "community-name-taken")


async def test_oversized_bodies_are_refused_at_the_gateway(tenant_api: httpx.AsyncClient) -> None:
    huge = {"nickname": "x" * (2 * 1024 * 1024)}
    assert_problem(await tenant_api.post("/members", json=huge), 413, "payload-too-large")


async def test_missing_or_wrong_credentials(platform: Platform, http: httpx.AsyncClient) -> None:
    gateway = f"{platform.url('gateway')}/api/v1/communities"
    assert_problem(await http.get(gateway), 401, "invalid-credentials")
    assert_problem(
        await http.get(gateway, headers={"Authorization": "Bearer qk_nope_nope"}), 401, "invalid-credentials"
    )
    forged_admin = await http.post(
        f"{platform.url('gateway')}/admin/tenants", json={"name": "x"}, headers={"Authorization": "Bearer guess"}
    )
    assert_problem(forged_admin, 401, "invalid-credentials")
