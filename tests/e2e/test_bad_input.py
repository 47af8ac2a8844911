"""Bad input anywhere: a 4xx problem+json, and nothing written (no row, no event)."""

import uuid

import httpx
import pytest
from aiokafka import ConsumerRecord

from qunyun_shared.events.kafka_binding import from_kafka
from qunyun_shared.events.member import MemberJoinedV1
from tests.e2e.helpers import assert_problem, join, new_community, new_members, wait_for_count
from tests.support.harness import Platform

pytestmark = pytest.mark.e2e


def joins_on(records: list[ConsumerRecord], communities: set[str]) -> list[tuple[str, str]]:
    """The (community, member) pairs of the member.joined events among `records` for `communities`."""
    events = [from_kafka(r.value, list(r.headers)) for r in records]
    return [
        (str(e.data.community_id), str(e.data.member_id))
        for e in events
        if isinstance(e.data, MemberJoinedV1) and str(e.data.community_id) in communities
    ]


async def test_rejected_joins_write_nothing(platform: Platform, tenant_api: httpx.AsyncClient) -> None:
    community_id, full_community = (
        await new_community(tenant_api),
        await new_community(tenant_api, capacity=1, overflow="refuse"),
    )
    first, second = await new_members(tenant_api, 2)
    assert (await join(tenant_api, community_id, first)).status_code == 201
    assert (await join(tenant_api, full_community, first)).status_code == 201

    assert_problem(await join(tenant_api, community_id, first), 409, "already-member")
    assert_problem(await join(tenant_api, full_community, second), 409, "community-full")
    assert_problem(await join(tenant_api, str(uuid.uuid4()), second), 404, "community-not-found")
    assert_problem(await join(tenant_api, community_id, str(uuid.uuid4())), 404, "member-not-found")
    self_invite = {"member_id": second, "channel": "invite", "inviter_id": second}
    assert_problem(await tenant_api.post(f"/communities/{community_id}/members", json=self_invite), 422, "self-invite")

    assert (await join(tenant_api, community_id, second)).status_code == 201
    await wait_for_count(tenant_api, community_id, 2)
    await wait_for_count(tenant_api, full_community, 1)

    # The relay publishes in commit order, so once the last accepted join is on the topic, an event
    # staged by any rejected join before it would be there too.
    ours = {community_id, full_community}

    def last_join_published(records: list[ConsumerRecord]) -> bool:
        return (community_id, second) in joins_on(records, ours)

    published = joins_on(await platform.read_topic("member", until=last_join_published), ours)
    assert sorted(published) == sorted([(community_id, first), (full_community, first), (community_id, second)])
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
