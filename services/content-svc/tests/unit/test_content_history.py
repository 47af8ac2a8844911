"""Importing a brand's content history: items and members' posts published at their own times to the audience
of then, announced as imported, idempotent by the merchant's ids; a bad row refused alone, writing nothing."""

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select

from content_svc.calendar.models import Placement
from content_svc.db import MESSAGING
from content_svc.items import history
from content_svc.items.models import ContentItem
from content_svc.moderation import Lexicon, Term
from content_svc.moderation.models import ReviewCase
from qunyun_shared.events import Envelope
from qunyun_shared.events.content import ContentPostedV1
from qunyun_shared.events.kafka_binding import from_kafka
from qunyun_shared.events.member import CommunityArchivedV1, MemberErasedV1, MemberJoinedV1
from qunyun_shared.history import HistoryBatchRead

from .conftest import OUTBOX, TENANT, World

pytestmark = pytest.mark.unit

NOW = datetime.now(UTC).replace(microsecond=0)
DAY = timedelta(days=1)


async def joined(world: World, community_id: uuid.UUID, at: datetime) -> uuid.UUID:
    """A member who joined the community at `at`."""
    member_id = uuid.uuid4()
    await world.deliver(
        "member-svc", MemberJoinedV1(member_id=member_id, community_id=community_id, channel="qr", joined_at=at)
    )
    return member_id


def item_row(merchant_id: str, communities: list[uuid.UUID], published_at: datetime, **fields: Any) -> dict[str, Any]:
    return {
        "merchant_content_id": merchant_id,
        "content_type": "knowledge",
        "title": "三分钟早餐",
        "body": "燕麦 40g, 酸奶 150g。",
        "tags": ["早餐"],
        "community_ids": [str(c) for c in communities],
        "published_at": published_at.isoformat(),
        **fields,
    }


def post_row(merchant_id: str, member_id: uuid.UUID, community_id: uuid.UUID, posted_at: datetime, **fields: Any):  # type: ignore[no-untyped-def]
    return {
        "merchant_content_id": merchant_id,
        "member_id": str(member_id),
        "community_id": str(community_id),
        "kind": "show_order",
        "body": "晒单: 燕麦杯",
        "posted_at": posted_at.isoformat(),
        **fields,
    }


async def import_items(world: World, rows: list[dict[str, Any]], tenant_id: str = TENANT) -> HistoryBatchRead:
    return await history.import_items(
        session=world.session, outbox=OUTBOX, lexicon=world.lexicon, tenant_id=tenant_id, rows=rows, now=NOW
    )


async def import_posts(world: World, rows: list[dict[str, Any]]) -> HistoryBatchRead:
    return await history.import_posts(
        session=world.session, outbox=OUTBOX, lexicon=world.lexicon, tenant_id=TENANT, rows=rows, now=NOW
    )


async def envelopes(world: World, event_type: str) -> list[Envelope]:
    rows = (await world.session.execute(select(MESSAGING.outbox).order_by(MESSAGING.outbox.c.id))).all()
    decoded = [from_kafka(r.value, [(name, value.encode()) for name, value in r.headers]) for r in rows]
    return [e for e in decoded if e.type == event_type]


async def count(world: World, model: Any) -> int:
    return await world.session.scalar(select(func.count()).select_from(model)) or 0


def outcomes(answer: HistoryBatchRead) -> list[str]:
    return [r.outcome for r in answer.results]


async def test_items_are_published_at_their_time_to_the_audience_of_then_and_announced_as_imported(
    world: World,
) -> None:
    moms, fitness = await world.community(), await world.community("健身群")
    await joined(world, moms, NOW - 30 * DAY)
    await joined(world, moms, NOW - 3 * DAY)  # after the item went out: not its audience
    await joined(world, fitness, NOW - 40 * DAY)
    published_at = (NOW - 10 * DAY).astimezone(timezone(timedelta(hours=8)))

    answer = await import_items(world, [item_row("k-1", [moms, fitness], published_at)])

    assert (answer.created, answer.unchanged, answer.failed) == (1, 0, 0)
    item = await world.session.get_one(ContentItem, answer.results[0].id)
    assert (item.status, item.merchant_content_id, item.created_at, item.source) == (
        "ready",
        "k-1",
        NOW - 10 * DAY,
        "PGC",
    )
    placements = (await world.session.scalars(select(Placement).order_by(Placement.audience_size))).all()
    assert [(p.status, p.published_at, p.audience_size) for p in placements] == [
        ("published", NOW - 10 * DAY, 1),
        ("published", NOW - 10 * DAY, 1),
    ]
    posted = await envelopes(world, "content.posted")
    assert {(e.imported, e.data.community_id, e.data.posted_at) for e in posted} == {  # type: ignore[attr-defined]
        (True, moms, NOW - 10 * DAY),
        (True, fitness, NOW - 10 * DAY),
    }
    assert await envelopes(world, "content.moderated") == []


async def test_history_is_masked_as_live_text_is_but_never_held(world: World) -> None:
    world.lexicon = Lexicon([Term("赌博")])  # would hold a live item
    community = await world.community()
    rows = [item_row("k-1", [community], NOW - DAY, title="全网最佳早餐", body="问 13812345678, 不谈赌博")]

    answer = await import_items(world, rows)

    item = await world.session.get_one(ContentItem, answer.results[0].id)
    assert (item.status, item.title, item.body) == ("ready", "全网最佳早餐", "问 138****5678, 不谈赌博")
    assert (item.moderation_outcome, item.moderation_reasons) == ("mask", ["phone number"])
    assert await count(world, ReviewCase) == 0


async def test_a_row_sent_again_is_unchanged_and_one_saying_otherwise_fails_naming_the_earlier_item(
    world: World,
) -> None:
    moms, fitness = await world.community(), await world.community("健身群")
    row = item_row("k-1", [moms, fitness], NOW - DAY)
    first = await import_items(world, [row])
    item_id = first.results[0].id

    # The same moment at another offset, the communities in another order: the same row.
    same = row | {"published_at": (NOW - DAY).astimezone(timezone(timedelta(hours=8))).isoformat()}
    same["community_ids"] = same["community_ids"][::-1]
    again = await import_items(world, [same, row | {"title": "四分钟早餐"}])

    assert [(r.outcome, r.id) for r in again.results] == [("unchanged", item_id), ("failed", None)]
    assert again.results[1].problems[0].field == "merchant_content_id"
    assert str(item_id) in again.results[1].problems[0].message
    assert (await count(world, ContentItem), await count(world, Placement)) == (1, 2)
    assert len(await envelopes(world, "content.posted")) == 2


async def test_a_merchant_id_twice_in_one_batch_is_one_item(world: World) -> None:
    community = await world.community()
    row = item_row("k-1", [community], NOW - DAY)

    answer = await import_items(world, [row, row, row | {"body": "别的"}])

    assert outcomes(answer) == ["created", "unchanged", "failed"]
    assert answer.results[0].id == answer.results[1].id
    assert "row 0" in answer.results[2].problems[0].message
    assert await count(world, ContentItem) == 1


async def test_every_bad_item_row_is_refused_alone_and_the_rest_land(world: World) -> None:
    community, archived = await world.community(), await world.community("旧群")
    theirs = await world.community("别家的群", tenant_id="tenant-b")
    await world.deliver("member-svc", CommunityArchivedV1(community_id=archived, archived_at=NOW - 5 * DAY))
    rows = [
        item_row("good", [community], NOW - DAY),
        item_row("unknown", [uuid.uuid4()], NOW - DAY),
        item_row("theirs", [theirs], NOW - DAY),
        item_row("archived", [archived], NOW - DAY),
        item_row("outside", [community], NOW - DAY, target={"communities": [str(archived)]}),
        item_row("future", [community], NOW + DAY),
        item_row("naive", [community], NOW - DAY) | {"published_at": "2025-01-01T08:00:00"},
        item_row("kind", [community], NOW - DAY, content_type="gossip"),
        {key: value for key, value in item_row("", [community], NOW - DAY).items() if key != "merchant_content_id"},
        item_row("nowhere", [], NOW - DAY),
        item_row("before archiving", [archived], NOW - 6 * DAY),
    ]

    answer = await import_items(world, rows)

    assert outcomes(answer) == ["created"] + ["failed"] * 9 + ["created"]
    fields = [r.problems[0].field for r in answer.results[1:10]]
    assert fields == ["community_ids"] * 4 + ["published_at", "published_at", "content_type", "merchant_content_id"] + [
        "community_ids"
    ]
    assert "archived" in answer.results[3].problems[0].message
    merchant_ids = set((await world.session.scalars(select(ContentItem.merchant_content_id))).all())
    assert merchant_ids == {"good", "before archiving"}
    assert await count(world, Placement) == 2
    assert len(await envelopes(world, "content.posted")) == 2


async def test_posts_are_published_by_their_author_at_their_time_and_replies_follow_their_topic(world: World) -> None:
    community = await world.community()
    author = await joined(world, community, NOW - 30 * DAY)
    topic = await import_items(world, [item_row("topic-1", [community], NOW - 10 * DAY, content_type="activity")])
    topic_id = topic.results[0].id
    rows = [
        post_row("p-1", author, community, NOW - 9 * DAY, kind="topic_reply", reply_to_merchant_content_id="topic-1"),
        post_row("p-2", author, community, NOW - 8 * DAY, kind="topic_reply", reply_to=str(topic_id)),
        post_row("p-3", author, community, NOW - 11 * DAY, kind="topic_reply", reply_to=str(topic_id)),
        post_row("p-4", author, community, NOW - 8 * DAY, kind="topic_reply", reply_to_merchant_content_id="nope"),
        post_row("p-5", author, uuid.uuid4(), NOW - 8 * DAY),
        post_row("p-6", author, community, NOW - 8 * DAY, body="加我微信 abc123 领券"),  # would be held live
    ]

    answer = await import_posts(world, rows)

    assert outcomes(answer) == ["created", "created", "failed", "failed", "failed", "created"]
    assert [r.problems[0].field for r in answer.results if r.problems] == [
        "posted_at",
        "reply_to_merchant_content_id",
        "community_id",
    ]
    reply = await world.session.get_one(ContentItem, answer.results[0].id)
    assert (reply.source, reply.author_member_id, reply.reply_to, reply.post_kind) == (
        "UGC",
        author,
        topic_id,
        "topic_reply",
    )
    held_live = await world.session.get_one(ContentItem, answer.results[5].id)
    assert held_live.status == "ready"
    posted = [e for e in await envelopes(world, "content.posted") if e.data.source == "UGC"]  # type: ignore[attr-defined]
    assert [(e.imported, e.data.author_member_id, e.data.posted_at) for e in posted] == [  # type: ignore[attr-defined]
        (True, author, NOW - 9 * DAY),
        (True, author, NOW - 8 * DAY),
        (True, author, NOW - 8 * DAY),
    ]
    # The topic named by our id or the merchant's is the same topic: the row sent again either way is unchanged.
    same = rows[0] | {"reply_to": str(topic_id), "reply_to_merchant_content_id": None}
    assert outcomes(await import_posts(world, [same])) == ["unchanged"]


async def test_an_erased_members_posts_are_refused_and_their_imported_posts_forgotten(world: World) -> None:
    community = await world.community()
    author = await joined(world, community, NOW - 30 * DAY)
    first = await import_posts(world, [post_row("p-1", author, community, NOW - 2 * DAY)])

    await world.deliver("member-svc", MemberErasedV1(member_id=author))
    again = await import_posts(
        world, [post_row("p-1", author, community, NOW - 2 * DAY), post_row("p-2", author, community, NOW - DAY)]
    )

    assert outcomes(again) == ["failed", "failed"]
    assert {r.problems[0].field for r in again.results} == {"member_id"}
    post = await world.session.get_one(ContentItem, first.results[0].id)
    assert (post.status, post.body, post.merchant_content_id, post.history_digest) == ("erased", "", None, None)
    assert await count(world, ContentItem) == 1


async def test_content_of_another_tenant_under_the_same_merchant_id_is_its_own(world: World) -> None:
    ours, theirs = await world.community(), await world.community("别家", tenant_id="tenant-b")
    mine = await import_items(world, [item_row("k-1", [ours], NOW - DAY)])
    their = await import_items(world, [item_row("k-1", [theirs], NOW - DAY)], tenant_id="tenant-b")
    assert (outcomes(mine), outcomes(their)) == (["created"], ["created"])
    assert mine.results[0].id != their.results[0].id
    posted = await envelopes(world, "content.posted")
    assert [(e.tenantid, e.data.community_id) for e in posted] == [(TENANT, ours), ("tenant-b", theirs)]  # type: ignore[attr-defined]
    assert all(isinstance(e.data, ContentPostedV1) for e in posted)
