"""The skeleton flow end to end through the gateway, with fan-out to every consumer."""

import uuid

import httpx
import pytest

from qunyun_shared.testing import eventually
from tests.e2e.helpers import new_community, new_members
from tests.support.harness import Platform

pytestmark = pytest.mark.e2e


async def test_a_join_through_the_gateway_is_counted_by_analytics(tenant_api: httpx.AsyncClient) -> None:
    community_id, members = await new_community(tenant_api), await new_members(tenant_api, 3)
    for member_id in members:
        joined = await tenant_api.post(
            f"/communities/{community_id}/members", json={"member_id": member_id, "channel": "qr"}
        )
        assert joined.status_code == 201, joined.text

    async def counted() -> None:
        count = (await tenant_api.get(f"/analytics/communities/{community_id}/members")).json()
        assert count == {"community_id": community_id, "members": 3, "joined_total": 3, "left_total": 0}

    await eventually(counted)


async def test_every_consumer_records_the_join_in_its_own_database(tenant_api: httpx.AsyncClient) -> None:
    community_id, (inviter, invitee) = await new_community(tenant_api), await new_members(tenant_api, 2)
    for member_id, inviter_id in ((inviter, None), (invitee, inviter)):
        join = {"member_id": member_id, "channel": "invite", "inviter_id": inviter_id}
        assert (await tenant_api.post(f"/communities/{community_id}/members", json=join)).status_code == 201

    async def fanned_out() -> None:
        audience = await tenant_api.get(f"/content/communities/{community_id}/audience")
        assert audience.json().get("members") == 2
        known = await tenant_api.get(f"/campaigns/members/{invitee}")
        assert known.status_code == 200
        assert known.json()["inviter_id"] == inviter

    await eventually(fanned_out)


async def test_leaving_is_counted_too(tenant_api: httpx.AsyncClient) -> None:
    community_id, (member_id,) = await new_community(tenant_api), await new_members(tenant_api, 1)
    await tenant_api.post(f"/communities/{community_id}/members", json={"member_id": member_id, "channel": "qr"})
    assert (await tenant_api.delete(f"/communities/{community_id}/members/{member_id}")).status_code == 204

    async def counted() -> None:
        count = (await tenant_api.get(f"/analytics/communities/{community_id}/members")).json()
        assert (count["members"], count["joined_total"], count["left_total"]) == (0, 1, 1)

    await eventually(counted)


async def test_the_correlation_id_travels_from_http_into_the_event(
    platform: Platform, tenant_api: httpx.AsyncClient
) -> None:
    community_id, (member_id,) = await new_community(tenant_api), await new_members(tenant_api, 1)
    correlation_id = uuid.uuid4().hex
    joined = await tenant_api.post(
        f"/communities/{community_id}/members",
        json={"member_id": member_id, "channel": "qr"},
        headers={"X-Correlation-Id": correlation_id},
    )
    assert joined.headers["x-correlation-id"] == correlation_id

    def carries_it(records: list[object]) -> bool:
        return any(("ce_correlationid", correlation_id.encode()) in r.headers for r in records)  # type: ignore[attr-defined]

    await platform.read_topic("member", until=carries_it)


async def test_a_join_by_invite_code_credits_the_inviter_on_the_event(tenant_api: httpx.AsyncClient) -> None:
    community_id, (inviter, joiner) = await new_community(tenant_api), await new_members(tenant_api, 2)
    code = (await tenant_api.post(f"/members/{inviter}/invite-code")).json()["invite_code"]
    joined = await tenant_api.post(
        f"/communities/{community_id}/members", json={"member_id": joiner, "channel": "invite", "invite_code": code}
    )
    assert joined.status_code == 201

    async def credited() -> None:
        known = await tenant_api.get(f"/campaigns/members/{joiner}")  # campaign-svc learned it from the event
        assert known.status_code == 200 and known.json()["inviter_id"] == inviter

    await eventually(credited)
    assert (await tenant_api.get(f"/members/{inviter}/referrals")).json()["invitees"] == [joiner]
