"""member-svc as a real process on PostgreSQL and Kafka: a brand's member history imported in batches, answered
row by row, idempotent, and published as imported history with the times it happened."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio

from qunyun_shared.events.kafka_binding import from_kafka
from tests.support.harness import Platform

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


@pytest_asyncio.fixture(scope="module")
async def member_svc(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    """member-svc alone, on a database and topics of its own."""
    platform = await Platform.create(tmp_path_factory.mktemp("member-history"), ["member-svc"])
    try:
        yield platform
    finally:
        await platform.close()


async def brand(platform: Platform, http: httpx.AsyncClient) -> tuple[str, dict[str, str], list[str]]:
    """A new tenant with two communities opened two years ago: its id, its caller's headers, the communities."""
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    headers = platform.identity_header(tenant)
    opened = (NOW - timedelta(days=730)).isoformat()
    communities = []
    for name in ("宝妈群", "福利群"):
        created = await http.post(
            f"{platform.url('member-svc')}/communities",
            json={"name": name, "kind": "vertical", "capacity": 50, "overflow": "refuse", "opened_at": opened},
            headers=headers,
        )
        assert created.status_code == 201, created.text
        communities.append(created.json()["id"])
    return tenant, headers, communities


def history(communities: list[str], count: int, prefix: str) -> list[dict[str, Any]]:
    """`count` members, each joined a community on a day of the last year and a half; every fifth invited by the
    member on the row before, every seventh gone again 30 days after joining."""
    rows = []
    for n in range(count):
        joined = NOW - timedelta(days=540 - n % 500, hours=n % 24)
        membership: dict[str, Any] = {"community_id": communities[n % 2], "joined_at": joined.isoformat()}
        if n % 5 == 1:
            membership |= {"inviter_merchant_member_id": f"{prefix}-{n - 1}", "channel": "invite"}
        if n % 7 == 3:
            membership["left_at"] = (joined + timedelta(days=30)).isoformat()
        rows.append({"merchant_member_id": f"{prefix}-{n}", "nickname": f"会员{n}", "memberships": [membership]})
    return rows


async def test_a_brands_members_land_with_their_history_once_and_are_published_as_imported(
    member_svc: Platform, http: httpx.AsyncClient
) -> None:
    tenant, headers, communities = await brand(member_svc, http)
    base = member_svc.url("member-svc")
    rows = history(communities, 300, "CUST")

    answered = await http.post(f"{base}/members/history", json={"members": rows}, headers=headers)
    assert answered.status_code == 200, answered.text
    answer = answered.json()
    assert (answer["created"], answer["unchanged"], answer["failed"]) == (300, 0, 0)
    ids = [result["id"] for result in answer["results"]]
    assert [result["row"] for result in answer["results"]] == list(range(300)) and len(set(ids)) == 300

    again = (await http.post(f"{base}/members/history", json={"members": rows}, headers=headers)).json()
    assert (again["unchanged"], [r["id"] for r in again["results"]]) == (300, ids)
    changed = [rows[0] | {"nickname": "改了名"}]
    refused = (await http.post(f"{base}/members/history", json={"members": changed}, headers=headers)).json()
    assert refused["failed"] == 1 and ids[0] in refused["results"][0]["problems"][0]["message"]

    resolved = await http.post(
        f"{base}/members/resolve", json={"merchant_member_ids": ["CUST-7", "NOBODY"]}, headers=headers
    )
    assert resolved.json() == {"members": {"CUST-7": ids[7]}, "unknown": ["NOBODY"], "erased": []}
    found = await http.get(f"{base}/members", params={"merchant_member_id": "CUST-7"}, headers=headers)
    assert [m["id"] for m in found.json()["members"]] == [ids[7]]
    staying = sum(1 for n in range(300) if n % 7 != 3)
    seats = [(await http.get(f"{base}/communities/{c}", headers=headers)).json()["member_count"] for c in communities]
    assert sum(seats) == staying  # past the capacity of 50: they were in already

    events = await published(member_svc, tenant, expected=300 + (300 - staying))
    assert all(event.imported for event in events)
    joins = {str(e.data.member_id): e.data for e in events if e.type == "member.joined"}
    leaves = {str(e.data.member_id): e.data for e in events if e.type == "member.left"}
    for n in (0, 1, 3, 299):
        membership = rows[n]["memberships"][0]
        joined = joins[ids[n]]
        assert (str(joined.community_id), joined.joined_at) == (
            membership["community_id"],
            datetime.fromisoformat(membership["joined_at"]),
        )
        assert (str(joined.inviter_id) if joined.inviter_id else None) == (ids[n - 1] if n % 5 == 1 else None)
        assert (ids[n] in leaves) == (n % 7 == 3)
    assert leaves[ids[3]].left_at == datetime.fromisoformat(rows[3]["memberships"][0]["left_at"])


async def test_a_full_batch_of_a_thousand_members_lands_whole(member_svc: Platform, http: httpx.AsyncClient) -> None:
    _, headers, communities = await brand(member_svc, http)
    rows = history(communities, 1000, "BIG")
    answered = await http.post(
        f"{member_svc.url('member-svc')}/members/history", json={"members": rows}, headers=headers
    )
    # How fast is the import benchmark's to say (bench/imports.py), not a timed test's.
    assert answered.status_code == 200 and answered.json()["created"] == 1000


async def published(platform: Platform, tenant: str, *, expected: int) -> list[Any]:
    """The tenant's joins and leaves on the member topic, once all `expected` have arrived."""

    def of_tenant(records: list[Any]) -> list[Any]:
        events = [from_kafka(r.value, list(r.headers)) for r in records]
        return [e for e in events if e.tenantid == tenant and e.type in ("member.joined", "member.left")]

    records = await platform.read_topic("member", until=lambda records: len(of_tenant(records)) >= expected)
    return of_tenant(records)
