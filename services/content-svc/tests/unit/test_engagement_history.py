"""Importing a brand's engagement history: actions counted as the same actions reported live would be
(statistics, reading hours, tag affinity, `content.engaged` with their own times, marked imported), idempotent
by the merchant's ids; each refused row writes nothing and the rest land."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc.calendar import publishing
from content_svc.calendar.models import Placement
from content_svc.db import MESSAGING
from content_svc.engagement import history
from content_svc.engagement import service as engagement
from content_svc.engagement.models import CommunityHourActivity, Engagement, MemberAffinity
from content_svc.items import history as item_history
from content_svc.models import Base
from qunyun_shared.events import Envelope
from qunyun_shared.events.kafka_binding import from_kafka
from qunyun_shared.events.member import CommunityOpenedV1, MemberErasedV1, MemberJoinedV1
from qunyun_shared.history import HistoryBatchRead
from qunyun_shared.testing import in_memory_database

from .conftest import OUTBOX, TENANT, World

pytestmark = pytest.mark.unit

NOW = datetime.now(UTC).replace(microsecond=0)
HOUR = timedelta(hours=1)
COMMUNITY = uuid.uuid4()
MEMBERS = [uuid.uuid4() for _ in range(6)]
# Who did what, how long before now: several readers, a second view, likes, comments, a share, clicks.
DONE = [(m, "view", 100 - 7 * m) for m in range(6)] + [
    (0, "view", 20),
    (0, "complete", 19),
    (1, "complete", 18),
    (0, "like", 17),
    (2, "like", 16),
    (1, "comment", 15),
    (1, "comment", 14),
    (5, "share", 13),
    (3, "click", 12),
    (0, "click", 11),
]


async def opened_with_members(world: World) -> None:
    """COMMUNITY, with every one of MEMBERS in it for ten days."""
    opened = CommunityOpenedV1(community_id=COMMUNITY, name="宝妈群", kind="vertical", tier="core", opened_at=NOW)
    await world.deliver("member-svc", opened)
    for member_id in MEMBERS:
        joined = MemberJoinedV1(member_id=member_id, community_id=COMMUNITY, channel="qr", joined_at=NOW - 240 * HOUR)
        await world.deliver("member-svc", joined)


def item_row(merchant_id: str, published_at: datetime, community_id: uuid.UUID = COMMUNITY) -> dict[str, Any]:
    return {
        "merchant_content_id": merchant_id,
        "content_type": "activity",
        "title": "辅食课",
        "body": "南瓜泥",
        "tags": ["辅食", "宝妈"],
        "community_ids": [str(community_id)],
        "published_at": published_at.isoformat(),
    }


async def imported_item(world: World, merchant_id: str, published_at: datetime, **fields: Any) -> uuid.UUID:
    answer = await item_history.import_items(
        session=world.session,
        outbox=OUTBOX,
        lexicon=world.lexicon,
        tenant_id=fields.pop("tenant_id", TENANT),
        rows=[item_row(merchant_id, published_at, **fields)],
        now=NOW,
    )
    assert answer.created == 1, answer
    content_id = answer.results[0].id
    assert content_id is not None
    return content_id


def action_row(merchant_id: str, member: uuid.UUID, kind: str, at: datetime, **content: Any) -> dict[str, Any]:
    return {
        "merchant_action_id": merchant_id,
        "member_id": str(member),
        "action": kind,
        "occurred_at": at.isoformat(),
        **{name: str(value) for name, value in content.items()},
    }


def live_row(member: uuid.UUID, kind: str, at: datetime, content_id: uuid.UUID) -> dict[str, Any]:
    """The same action as a front-end reports it live."""
    row = action_row("", member, kind, at, content_id=content_id)
    del row["merchant_action_id"]
    return row


async def import_actions(world: World, rows: list[dict[str, Any]], tenant_id: str = TENANT) -> HistoryBatchRead:
    return await history.import_actions(session=world.session, outbox=OUTBOX, tenant_id=tenant_id, rows=rows)


async def engaged(world: World) -> list[Envelope]:
    rows = (await world.session.execute(select(MESSAGING.outbox).order_by(MESSAGING.outbox.c.id))).all()
    decoded = [from_kafka(r.value, [(name, value.encode()) for name, value in r.headers]) for r in rows]
    return [e for e in decoded if e.type == "content.engaged"]


async def stored(world: World) -> int:
    return await world.session.scalar(select(func.count()).select_from(Engagement)) or 0


def outcomes(answer: HistoryBatchRead) -> list[str]:
    return [r.outcome for r in answer.results]


@pytest_asyncio.fixture
async def live() -> AsyncIterator[World]:
    """A second world, on a database of its own, for the same actions reported live."""
    async with in_memory_database(Base.metadata) as engine, AsyncSession(engine, expire_on_commit=False) as session:
        yield World(session)


async def learned(world: World, content_id: uuid.UUID) -> dict[str, Any]:
    """Everything the actions left behind, with nothing that differs by how the item came in (its id)."""
    stats = await engagement.stats_of(session=world.session, tenant_id=TENANT, content_id=content_id)
    hours = (await world.session.execute(select(CommunityHourActivity.hour, CommunityHourActivity.engagements))).all()
    affinity = (
        await world.session.execute(select(MemberAffinity.member_id, MemberAffinity.tag, MemberAffinity.weight))
    ).all()
    events = [e.data.model_dump(exclude={"content_id"}) for e in await engaged(world)]
    return {
        "stats": stats.model_dump(exclude={"content_id"}),
        "hours": sorted(map(tuple, hours)),
        "affinity": sorted(map(tuple, affinity)),
        "events": sorted(events, key=lambda e: (e["occurred_at"], e["member_id"].int, e["action"])),
    }


async def test_imported_actions_count_as_the_same_actions_reported_live(world: World, live: World) -> None:
    published_at = NOW - 120 * HOUR
    for each in (world, live):
        await opened_with_members(each)
    content_id = await imported_item(world, "k-1", published_at)
    live_item = await live.item("activity", title="辅食课", body="南瓜泥", tags=["辅食", "宝妈"])
    live.session.add(
        Placement(
            tenant_id=TENANT,
            content_id=live_item.id,
            community_id=COMMUNITY,
            content_type="activity",
            publish_at=published_at,
            status="scheduled",
        )
    )
    await live.session.flush()
    await publishing.publish_due(session=live.session, outbox=OUTBOX, now=published_at)

    reported = await engagement.ingest(
        session=live.session,
        outbox=OUTBOX,
        tenant_id=TENANT,
        rows=[live_row(MEMBERS[m], kind, NOW - ago * HOUR, live_item.id) for m, kind, ago in DONE],
        now=NOW,
    )
    rows = [
        action_row(f"a-{n}", MEMBERS[m], kind, NOW - ago * HOUR, merchant_content_id="k-1")
        for n, (m, kind, ago) in enumerate(DONE)
    ]
    answer = await import_actions(world, rows)

    assert (reported.accepted, answer.created, answer.failed) == (len(DONE), len(DONE), 0)
    imported, reported_live = await learned(world, content_id), await learned(live, live_item.id)
    assert imported == reported_live
    assert imported["stats"]["audience"] == 6 and imported["stats"]["readers"] == 6  # not an empty comparison
    assert {e.imported for e in await engaged(world)} == {True}
    assert {e.imported for e in await engaged(live)} == {False}


async def test_each_refused_action_writes_nothing_and_the_rest_land(world: World) -> None:
    await opened_with_members(world)
    other = uuid.uuid4()
    await world.deliver(
        "member-svc",
        CommunityOpenedV1(community_id=other, name="健身群", kind="interest", tier="active", opened_at=NOW),
    )
    published = await imported_item(world, "k-1", NOW - 48 * HOUR)
    never_published = await world.item()  # written, never scheduled
    await world.deliver(
        "member-svc",
        CommunityOpenedV1(community_id=uuid.uuid4(), name="别家", kind="vertical", tier="core", opened_at=NOW),
        tenant_id="tenant-b",
    )
    theirs_community = uuid.uuid4()
    await world.deliver(
        "member-svc",
        CommunityOpenedV1(community_id=theirs_community, name="别家", kind="vertical", tier="core", opened_at=NOW),
        tenant_id="tenant-b",
    )
    theirs = await imported_item(
        world, "k-theirs", NOW - 48 * HOUR, tenant_id="tenant-b", community_id=theirs_community
    )
    erased = MEMBERS[5]
    await world.deliver("member-svc", MemberErasedV1(member_id=erased))
    at = NOW - HOUR
    rows = [
        action_row("good-1", MEMBERS[0], "like", at, content_id=published),
        action_row("unknown", MEMBERS[0], "like", at, content_id=uuid.uuid4()),
        action_row("unknown merchant id", MEMBERS[0], "like", at, merchant_content_id="k-nope"),
        action_row("theirs", MEMBERS[0], "like", at, content_id=theirs),
        action_row("theirs by merchant id", MEMBERS[0], "like", at, merchant_content_id="k-theirs"),
        action_row("never published", MEMBERS[0], "like", at, content_id=never_published.id),
        action_row("too early", MEMBERS[0], "like", NOW - 49 * HOUR, content_id=published),
        action_row("elsewhere", MEMBERS[0], "like", at, content_id=published, community_id=other),
        action_row("erased", erased, "like", at, content_id=published),
        action_row("both", MEMBERS[0], "like", at, content_id=published, merchant_content_id="k-1"),
        action_row("neither", MEMBERS[0], "like", at),
        action_row("future", MEMBERS[0], "like", NOW + HOUR, content_id=published),
        action_row("teleport", MEMBERS[0], "teleport", at, content_id=published),
        action_row("good-2", MEMBERS[1], "view", NOW - 48 * HOUR, merchant_content_id="k-1", community_id=COMMUNITY),
    ]

    answer = await import_actions(world, rows)

    assert outcomes(answer) == ["created"] + ["failed"] * 12 + ["created"]
    assert [r.problems[0].field for r in answer.results[1:13]] == [
        "content_id",
        "merchant_content_id",
        "content_id",
        "merchant_content_id",
        "content_id",
        "occurred_at",
        "community_id",
        "member_id",
        None,
        None,
        "occurred_at",
        "action",
    ]
    assert "before" in answer.results[6].problems[0].message
    assert "erased" in answer.results[8].problems[0].message
    assert await stored(world) == 2
    assert [(e.data.member_id, e.data.action) for e in await engaged(world)] == [  # type: ignore[attr-defined]
        (MEMBERS[0], "like"),
        (MEMBERS[1], "view"),
    ]
    hours = await world.session.scalar(select(func.sum(CommunityHourActivity.engagements)))
    assert hours == 2


async def test_an_action_sent_again_is_unchanged_and_one_saying_otherwise_fails_naming_it(world: World) -> None:
    await opened_with_members(world)
    content_id = await imported_item(world, "k-1", NOW - 48 * HOUR)
    row = action_row("a-1", MEMBERS[0], "like", NOW - HOUR, merchant_content_id="k-1")
    first = await import_actions(world, [row])
    action_id = first.results[0].id

    # The item by our id, the time at another offset: the same action.
    same = row | {"occurred_at": (NOW - HOUR).astimezone(timezone(timedelta(hours=8))).isoformat()}
    del same["merchant_content_id"]
    same["content_id"] = str(content_id)
    in_the_community = row | {"community_id": str(COMMUNITY)}
    again = await import_actions(
        world, [same, in_the_community, row | {"action": "share"}, row | {"member_id": str(MEMBERS[1])}]
    )

    assert [(r.outcome, r.id) for r in again.results] == [
        ("unchanged", action_id),
        ("unchanged", action_id),
        ("failed", None),
        ("failed", None),
    ]
    assert all(str(action_id) in r.problems[0].message for r in again.results[2:])
    assert await stored(world) == 1
    assert len(await engaged(world)) == 1
    stats = await engagement.stats_of(session=world.session, tenant_id=TENANT, content_id=content_id)
    assert (stats.likes, stats.shares) == (1, 0)


async def test_a_merchant_action_id_twice_in_one_batch_is_one_action(world: World) -> None:
    await opened_with_members(world)
    await imported_item(world, "k-1", NOW - 48 * HOUR)
    row = action_row("a-1", MEMBERS[0], "like", NOW - HOUR, merchant_content_id="k-1")

    answer = await import_actions(world, [row, row, row | {"action": "comment"}])

    assert outcomes(answer) == ["created", "unchanged", "failed"]
    assert answer.results[0].id == answer.results[1].id
    assert "row 0" in answer.results[2].problems[0].message
    assert await stored(world) == 1


async def test_an_action_id_is_the_merchants_within_its_tenant_only(world: World) -> None:
    await opened_with_members(world)
    theirs_community = uuid.uuid4()
    await world.deliver(
        "member-svc",
        CommunityOpenedV1(community_id=theirs_community, name="别家", kind="vertical", tier="core", opened_at=NOW),
        tenant_id="tenant-b",
    )
    await imported_item(world, "k-1", NOW - 48 * HOUR)
    await imported_item(world, "k-1", NOW - 48 * HOUR, tenant_id="tenant-b", community_id=theirs_community)
    row = action_row("a-1", MEMBERS[0], "like", NOW - HOUR, merchant_content_id="k-1")

    ours, theirs = await import_actions(world, [row]), await import_actions(world, [row], tenant_id="tenant-b")

    assert (outcomes(ours), outcomes(theirs)) == (["created"], ["created"])
    assert await stored(world) == 2


async def test_erasure_drops_the_merchants_ids_of_the_members_actions(world: World) -> None:
    await opened_with_members(world)
    await imported_item(world, "k-1", NOW - 48 * HOUR)
    row = action_row("a-1", MEMBERS[0], "like", NOW - HOUR, merchant_content_id="k-1")
    await import_actions(world, [row])

    await world.deliver("member-svc", MemberErasedV1(member_id=MEMBERS[0]))

    kept = (await world.session.execute(select(Engagement.member_id, Engagement.merchant_action_id))).one()
    assert kept[0] != MEMBERS[0] and kept[1] is None
    again = await import_actions(world, [row])
    assert outcomes(again) == ["failed"] and again.results[0].problems[0].field == "member_id"
    assert await stored(world) == 1
