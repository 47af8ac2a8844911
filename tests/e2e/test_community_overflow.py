"""Full communities through the gateway: a waitlist that moves, siblings that open, archives that close."""

import asyncio
import uuid
from collections import Counter

import httpx
import pytest

from qunyun_shared.testing import eventually
from tests.e2e.helpers import join, new_community, new_members, wait_for_count

pytestmark = pytest.mark.e2e


async def test_the_waitlist_moves_up_when_a_member_is_removed(tenant_api: httpx.AsyncClient) -> None:
    community_id = await new_community(tenant_api, capacity=1, overflow="waitlist")
    seated, waiting = await new_members(tenant_api, 2)
    assert (await join(tenant_api, community_id, seated)).status_code == 201
    queued = await join(tenant_api, community_id, waiting)
    assert queued.status_code == 202
    assert queued.json() == {
        "status": "waitlisted",
        "community_id": community_id,
        "member_id": waiting,
        "waitlist_position": 1,
        "application_id": None,
    }

    removal = await tenant_api.delete(f"/communities/{community_id}/members/{seated}", params={"reason": "removed"})
    assert removal.status_code == 204

    async def admitted() -> None:
        count = (await tenant_api.get(f"/analytics/communities/{community_id}/members")).json()
        assert (count["members"], count["joined_total"], count["left_total"]) == (1, 2, 1)

    await eventually(admitted)
    assert (await tenant_api.get(f"/communities/{community_id}")).json()["member_count"] == 1
    assert (await join(tenant_api, community_id, waiting)).json()["type"].endswith("/already-member")
    history = (await tenant_api.get(f"/members/{seated}/export")).json()["membership_records"]
    assert [r["action"] for r in history] == ["joined", "removed"]


async def test_a_full_community_with_siblings_places_joiners_in_the_next_one(tenant_api: httpx.AsyncClient) -> None:
    community_id = await new_community(tenant_api, capacity=2, overflow="sibling")
    placed = [
        (await join(tenant_api, community_id, m)).json()["community_id"] for m in await new_members(tenant_api, 3)
    ]
    assert placed[:2] == [community_id, community_id] and placed[2] != community_id
    sibling = (await tenant_api.get(f"/communities/{placed[2]}")).json()
    root = (await tenant_api.get(f"/communities/{community_id}")).json()
    assert (sibling["name"], sibling["sibling_of"], sibling["member_count"]) == (root["name"] + "2", community_id, 1)
    await wait_for_count(tenant_api, placed[2], 1)


async def test_an_archived_community_refuses_joins_and_leaves_the_list(tenant_api: httpx.AsyncClient) -> None:
    community_id = await new_community(tenant_api)
    (member_id,) = await new_members(tenant_api, 1)
    assert (await tenant_api.post(f"/communities/{community_id}/archive")).status_code == 200
    refused = await join(tenant_api, community_id, member_id)
    assert refused.status_code == 409 and refused.json()["type"].endswith("/community-archived")
    assert community_id not in {c["id"] for c in (await tenant_api.get("/communities")).json()}
    listed = (await tenant_api.get("/communities", params={"include_archived": "true", "limit": 200})).json()
    assert community_id in {c["id"] for c in listed}


async def test_concurrent_joins_never_overfill_a_community(tenant_api: httpx.AsyncClient) -> None:
    community_id = await new_community(tenant_api, capacity=3, overflow="refuse")
    members = await new_members(tenant_api, 12)
    statuses = [r.status_code for r in await asyncio.gather(*(join(tenant_api, community_id, m) for m in members))]
    assert sorted(statuses) == [201] * 3 + [409] * 9
    assert (await tenant_api.get(f"/communities/{community_id}")).json()["member_count"] == 3
    await wait_for_count(tenant_api, community_id, 3)


async def test_concurrent_joins_into_a_full_family_fill_one_new_sibling(tenant_api: httpx.AsyncClient) -> None:
    community_id = await new_community(tenant_api, capacity=4, overflow="sibling")
    members = await new_members(tenant_api, 8)
    results = await asyncio.gather(*(join(tenant_api, community_id, m) for m in members))
    assert all(r.status_code == 201 for r in results)
    places = Counter(r.json()["community_id"] for r in results)
    assert sorted(places.values()) == [4, 4]


async def test_an_approval_community_seats_members_an_operator_approves(tenant_api: httpx.AsyncClient) -> None:
    body = {
        "name": f"VIP-{uuid.uuid4().hex[:6]}",
        "kind": "vip",
        "entry_rule": "approval",
        "questionnaire": [{"id": "city", "text": "您在哪个城市", "required": True}],
    }
    community_id = (await tenant_api.post("/communities", json=body)).json()["id"]
    (applicant,) = await new_members(tenant_api, 1)

    unanswered = await join(tenant_api, community_id, applicant)
    assert unanswered.status_code == 422 and unanswered.json()["missing"] == ["city"]
    filed = await tenant_api.post(
        f"/communities/{community_id}/members",
        json={"member_id": applicant, "channel": "qr", "answers": {"city": "上海"}},
    )
    assert filed.status_code == 202 and filed.json()["status"] == "pending_approval"
    pending = (await tenant_api.get(f"/communities/{community_id}/applications", params={"status": "pending"})).json()
    assert [(a["member_id"], a["answers"]) for a in pending] == [(applicant, {"city": "上海"})]

    approved = await tenant_api.post(f"/communities/{community_id}/applications/{pending[0]['id']}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "joined"
    await wait_for_count(tenant_api, community_id, 1)
