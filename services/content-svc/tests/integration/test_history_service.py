"""History imports through the running content-svc on real PostgreSQL and Kafka: items, posts and 1,000-action
batches of engagement (each in well under a second), with statistics equal to a computation over the same
rows, `content.posted` and `content.engaged` on Kafka carrying their historical times and marked imported;
a batch resent is unchanged, and the same batch sent twice at once is stored once."""

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from content_svc.engagement.models import Engagement
from qunyun_shared.db import create_engine
from qunyun_shared.events.content import ContentEngagedV1, ContentPostedV1
from qunyun_shared.events.kafka_binding import from_kafka
from qunyun_shared.events.member import CommunityOpenedV1, MemberJoinedV1
from qunyun_shared.testing import eventually
from tests.support.harness import Platform

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)
MEMBERS = 200
ACTIONS = ("view", "view", "view", "complete", "like", "comment", "share", "click")


@pytest_asyncio.fixture(scope="module")
async def content_service(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Platform]:
    """content-svc alone as a real process, on a PostgreSQL database and Kafka topics of its own."""
    started = await Platform.create(Path(tmp_path_factory.mktemp("content-history")), ["content-svc"])
    try:
        yield started
    finally:
        await started.close()


class Brand:
    """A tenant of the running service, called as the gateway would call it."""

    def __init__(self, platform: Platform, client: httpx.AsyncClient) -> None:
        self.platform, self.client = platform, client
        self.tenant_id = f"t-{uuid.uuid4().hex[:12]}"
        self.headers = platform.identity_header(self.tenant_id)

    async def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post(f"{self.platform.url('content-svc')}{path}", json=body, headers=self.headers)

    async def get(self, path: str) -> Any:
        response = await self.client.get(f"{self.platform.url('content-svc')}{path}", headers=self.headers)
        assert response.status_code == 200, response.text
        return response.json()

    async def community_with_members(self, count: int) -> tuple[uuid.UUID, list[uuid.UUID]]:
        """A community member-svc announced, with `count` members who joined a year and a half ago."""
        community_id, members = uuid.uuid4(), [uuid.uuid4() for _ in range(count)]
        opened = CommunityOpenedV1(
            community_id=community_id, name="宝妈群", kind="vertical", tier="core", opened_at=NOW
        )
        joins = [
            MemberJoinedV1(member_id=m, community_id=community_id, channel="qr", joined_at=NOW - 540 * DAY)
            for m in members
        ]
        await self.platform.publish("member-svc", self.tenant_id, opened, *joins)

        async def known() -> None:
            assert (await self.get(f"/content/communities/{community_id}/audience"))["members"] == count

        await eventually(known)
        return community_id, members


@pytest_asyncio.fixture
async def brand(content_service: Platform) -> AsyncIterator[Brand]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield Brand(content_service, client)


def items(community_id: uuid.UUID, count: int) -> list[dict[str, Any]]:
    """An item published every other day over the last year."""
    return [
        {
            "merchant_content_id": f"k-{n}",
            "content_type": "knowledge",
            "title": f"辅食第{n}课",
            "body": "南瓜泥的做法",
            "tags": ["辅食"],
            "community_ids": [str(community_id)],
            "published_at": (NOW - (365 - 2 * n) * DAY).isoformat(),
        }
        for n in range(count)
    ]


def actions(batch: int, members: list[uuid.UUID], item_count: int, chance: random.Random) -> list[dict[str, Any]]:
    """1,000 actions of members on the items, each within two days after its item was published."""
    rows = []
    for n in range(1000):
        item = chance.randrange(item_count)
        published_at = NOW - (365 - 2 * item) * DAY
        rows.append(
            {
                "merchant_action_id": f"a-{batch}-{n}",
                "member_id": str(chance.choice(members)),
                "merchant_content_id": f"k-{item}",
                "action": chance.choice(ACTIONS),
                "occurred_at": (published_at + timedelta(minutes=chance.randrange(1, 2880))).isoformat(),
            }
        )
    return rows


def expected_stats(rows: list[dict[str, Any]], merchant_id: str, audience: int) -> dict[str, Any]:
    """The item's statistics computed from the rows by their definitions."""
    mine = [r for r in rows if r["merchant_content_id"] == merchant_id]

    def members(*kinds: str) -> set[str]:
        return {r["member_id"] for r in mine if not kinds or r["action"] in kinds}

    def ratio(part: int, whole: int) -> float:
        return round(part / whole, 4) if whole else 0.0

    readers = len(members("view"))
    return {
        "audience": audience,
        "reach": len(members()),
        "readers": readers,
        "read_rate": ratio(readers, audience),
        "completion_rate": ratio(len(members("complete")), readers),
        "interaction_rate": ratio(len(members("like", "comment", "share")), len(members())),
        **{f"{kind}s": sum(1 for r in mine if r["action"] == kind) for kind in ("like", "comment", "share", "click")},
        "click_through_rate": ratio(len(members("click")), readers),
        "orders": 0,
        "gmv_fen": 0,
    }


async def test_a_brands_history_lands_through_the_running_service_as_imported_history(brand: Brand) -> None:
    community_id, members = await brand.community_with_members(MEMBERS)
    imported_items = await brand.post("/content/items/history", {"items": items(community_id, 100)})
    assert imported_items.status_code == 200, imported_items.text
    assert imported_items.json()["created"] == 100
    post = {
        "merchant_content_id": "p-1",
        "member_id": str(members[0]),
        "community_id": str(community_id),
        "kind": "topic_reply",
        "reply_to_merchant_content_id": "k-3",
        "body": "我家宝宝爱吃",
        "posted_at": (NOW - 358 * DAY).isoformat(),
    }
    posted = await brand.post("/content/posts/history", {"posts": [post]})
    assert posted.status_code == 200 and posted.json()["created"] == 1, posted.text
    chance = random.Random(21)
    batches = [actions(b, members, 100, chance) for b in range(3)]

    for rows in batches:
        answer = await brand.post("/content/engagement/history", {"actions": rows})
        assert answer.status_code == 200, answer.text
        assert (answer.json()["created"], answer.json()["failed"]) == (1000, 0)

    rows = [row for batch in batches for row in batch]
    for merchant_id in ("k-0", "k-50", "k-99"):
        content_id = next(
            r["id"] for r in imported_items.json()["results"] if r["row"] == int(merchant_id.removeprefix("k-"))
        )
        stats = await brand.get(f"/content/items/{content_id}/stats")
        assert {k: v for k, v in stats.items() if k != "content_id"} == expected_stats(rows, merchant_id, MEMBERS)

    records = await brand.platform.read_topic(
        "content", until=lambda records: len(_of_tenant(records, brand.tenant_id)) >= 3101
    )
    events = _of_tenant(records, brand.tenant_id)
    assert {e.imported for e in events} == {True}
    engaged = sorted(
        (str(e.data.member_id), e.data.action, e.data.occurred_at)
        for e in events
        if isinstance(e.data, ContentEngagedV1)
    )
    assert engaged == sorted((r["member_id"], r["action"], datetime.fromisoformat(r["occurred_at"])) for r in rows)
    posted_at = sorted(e.data.posted_at for e in events if isinstance(e.data, ContentPostedV1))
    assert posted_at == sorted([NOW - (365 - 2 * n) * DAY for n in range(100)] + [NOW - 358 * DAY])


async def test_a_batch_resent_is_unchanged_and_a_changed_row_fails_naming_the_earlier_action(brand: Brand) -> None:
    community_id, members = await brand.community_with_members(20)
    assert (await brand.post("/content/items/history", {"items": items(community_id, 10)})).status_code == 200
    rows = actions(0, members, 10, random.Random(1))[:200]
    first = (await brand.post("/content/engagement/history", {"actions": rows})).json()

    changed = rows[7] | {"action": "share" if rows[7]["action"] != "share" else "like"}
    again = (await brand.post("/content/engagement/history", {"actions": [*rows, changed]})).json()

    assert (again["created"], again["unchanged"], again["failed"]) == (0, 200, 1)
    assert [r["id"] for r in again["results"][:200]] == [r["id"] for r in first["results"]]
    assert first["results"][7]["id"] in again["results"][200]["problems"][0]["message"]
    too_many = await brand.post("/content/engagement/history", {"actions": rows * 6})
    assert too_many.status_code == 422 and too_many.headers["content-type"] == "application/problem+json"


async def test_the_same_batch_sent_twice_at_once_is_stored_once(brand: Brand) -> None:
    community_id, members = await brand.community_with_members(20)
    assert (await brand.post("/content/items/history", {"items": items(community_id, 10)})).status_code == 200
    rows = actions(0, members, 10, random.Random(2))
    shuffled = random.Random(3).sample(rows, len(rows))

    answers = await asyncio.gather(
        *(brand.post("/content/engagement/history", {"actions": b}) for b in (rows, shuffled))
    )

    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    first, second = (a.json() for a in answers)
    assert first["created"] + second["created"] == 1000 and first["unchanged"] + second["unchanged"] == 1000
    ids = {r["id"] for r in first["results"]}
    assert ids == {r["id"] for r in second["results"]} and len(ids) == 1000
    engine = create_engine(brand.platform.databases["content-svc"])
    try:
        async with engine.connect() as connection:
            count = select(func.count()).where(Engagement.tenant_id == brand.tenant_id)
            assert await connection.scalar(count) == 1000
    finally:
        await engine.dispose()


def _of_tenant(records: list[Any], tenant_id: str) -> list[Any]:
    events = [from_kafka(r.value, list(r.headers)) for r in records]
    return [e for e in events if e.tenantid == tenant_id]
