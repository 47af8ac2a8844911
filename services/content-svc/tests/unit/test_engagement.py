"""Engagement batches: good rows kept, bad rows reported by index, resent rows counted once; what the
actions teach (hour histogram, tag affinity) and the item statistics built on them."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from content_svc.calendar import publishing
from content_svc.calendar.models import Placement
from content_svc.engagement import service as engagement
from content_svc.engagement.models import CommunityHourActivity, MemberAffinity
from content_svc.items import service as items
from content_svc.items.schemas import ContentCreate
from qunyun_shared.events.campaign import Attribution, OrderPlacedV1
from qunyun_shared.events.member import MemberJoinedV1

from .conftest import OUTBOX, TENANT, World

pytestmark = pytest.mark.unit

NOW = datetime.now(UTC)


async def published_item(world: World, community_id: uuid.UUID, **fields: Any):  # type: ignore[no-untyped-def]
    item = await world.item(**fields)
    world.session.add(
        Placement(
            tenant_id=TENANT,
            content_id=item.id,
            community_id=community_id,
            content_type=item.content_type,
            publish_at=NOW - timedelta(hours=1),
            status="scheduled",
        )
    )
    await world.session.flush()
    await publishing.publish_due(session=world.session, outbox=OUTBOX, now=NOW)
    return item


def action(content_id: uuid.UUID, member_id: uuid.UUID, kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "content_id": str(content_id),
        "member_id": str(member_id),
        "action": kind,
        "occurred_at": (NOW - timedelta(minutes=5)).isoformat(),
        **extra,
    }


async def test_a_bad_row_is_reported_by_index_and_the_good_rows_are_kept(world: World) -> None:
    community_id, other = await world.community(), await world.community("健身群")
    member_id = await world.member(community_id)
    item = await published_item(world, community_id)
    unpublished = await world.item()
    rows = [
        action(item.id, member_id, "view"),
        action(item.id, member_id, "teleport"),
        {"content_id": "not-a-uuid"},
        action(item.id, member_id, "like", occurred_at=(NOW + timedelta(hours=1)).isoformat()),
        action(uuid.uuid4(), member_id, "view"),
        action(unpublished.id, member_id, "view"),
        action(item.id, member_id, "share", community_id=str(other)),
        action(item.id, member_id, "complete", occurred_at="2026-01-01T00:00:00"),  # no offset
    ]
    receipt = await engagement.ingest(session=world.session, outbox=OUTBOX, tenant_id=TENANT, rows=rows, now=NOW)
    assert receipt.accepted == 1
    assert [r.index for r in receipt.rejected] == [1, 2, 3, 4, 5, 6, 7]
    assert "action" in receipt.rejected[0].detail
    assert "future" in receipt.rejected[2].detail
    assert "not published to community" in receipt.rejected[5].detail
    engaged = [p for t, p in await world.events() if t == "content.engaged"]
    # The community is filled in from the only community the item went to.
    assert [(p.content_id, p.member_id, p.action, p.community_id) for p in engaged] == [
        (item.id, member_id, "view", community_id)
    ]


async def test_a_resent_row_is_counted_once(world: World) -> None:
    community_id = await world.community()
    member_id = await world.member(community_id)
    item = await published_item(world, community_id)
    row = action(item.id, member_id, "like", id=str(uuid.uuid4()))
    first = await engagement.ingest(session=world.session, outbox=OUTBOX, tenant_id=TENANT, rows=[row, row], now=NOW)
    again = await engagement.ingest(session=world.session, outbox=OUTBOX, tenant_id=TENANT, rows=[row], now=NOW)
    assert (first.accepted, first.duplicates, again.accepted, again.duplicates) == (1, 1, 0, 1)
    assert (await engagement.stats_of(session=world.session, tenant_id=TENANT, content_id=item.id)).likes == 1


async def test_statistics_follow_their_definitions(world: World) -> None:
    community_id = await world.community()
    members = [await world.member(community_id) for _ in range(10)]
    item = await published_item(world, community_id)
    rows = [action(item.id, m, "view") for m in members[:8]]
    rows += [action(item.id, members[0], "view")]  # a second view by the same reader
    rows += [action(item.id, m, "complete") for m in members[:4]]
    rows += [action(item.id, members[0], "like"), action(item.id, members[1], "comment")]
    rows += [action(item.id, members[1], "comment"), action(item.id, members[9], "share")]
    rows += [action(item.id, m, "click") for m in members[:2]]
    await engagement.ingest(session=world.session, outbox=OUTBOX, tenant_id=TENANT, rows=rows, now=NOW)
    order = OrderPlacedV1(
        order_id=uuid.uuid4(),
        member_id=members[0],
        amount_fen=12_900,
        attribution=Attribution(content_id=item.id),
        placed_at=NOW,
    )
    foreign = order.model_copy(update={"order_id": uuid.uuid4()})
    await world.deliver("campaign-svc", order, order)
    await world.deliver("campaign-svc", foreign, tenant_id="tenant-b")  # not this tenant's item
    stats = await engagement.stats_of(session=world.session, tenant_id=TENANT, content_id=item.id)
    assert (stats.audience, stats.reach, stats.readers) == (10, 9, 8)
    assert stats.read_rate == 0.8
    assert stats.completion_rate == 0.5
    assert stats.interaction_rate == round(3 / 9, 4)
    assert (stats.likes, stats.comments, stats.shares, stats.clicks) == (1, 2, 1, 2)
    assert stats.click_through_rate == 0.25
    assert (stats.orders, stats.gmv_fen) == (1, 12_900)


async def test_actions_teach_the_hour_histogram_and_the_members_tag_affinity(world: World) -> None:
    community_id = await world.community()
    member_id = await world.member(community_id)
    baking = await published_item(world, community_id, tags=["烘焙", "早餐"])
    fitness = await published_item(world, community_id, tags=["健身"])
    evening = datetime(2026, 11, 23, 12, 30, tzinfo=UTC)  # 20:30 in Shanghai
    rows = [
        action(baking.id, member_id, "view", occurred_at=evening.isoformat()),
        action(baking.id, member_id, "share", occurred_at=evening.isoformat()),
        action(fitness.id, member_id, "view", occurred_at=evening.isoformat()),
    ]
    await engagement.ingest(
        session=world.session, outbox=OUTBOX, tenant_id=TENANT, rows=rows, now=evening + timedelta(minutes=1)
    )
    histogram = (
        await world.session.execute(select(CommunityHourActivity.hour, CommunityHourActivity.engagements))
    ).all()
    assert [tuple(r) for r in histogram] == [(20, 3)]
    affinity = dict((await world.session.execute(select(MemberAffinity.tag, MemberAffinity.weight))).all())
    assert affinity == {"烘焙": 6.0, "早餐": 6.0, "健身": 1.0}


async def test_an_engagement_id_is_unique_per_tenant_not_across_tenants(world: World) -> None:
    other_tenant = "tenant-b"
    ours, theirs = await world.community(), await world.community(tenant_id=other_tenant)
    member_id, their_member = await world.member(ours), uuid.uuid4()
    await world.deliver(
        "member-svc",
        MemberJoinedV1(member_id=their_member, community_id=theirs, channel="qr", joined_at=NOW),
        tenant_id=other_tenant,
    )
    item = await published_item(world, ours)
    their_item = await items.create_item(
        session=world.session,
        outbox=OUTBOX,
        lexicon=world.lexicon,
        tenant_id=other_tenant,
        item_in=ContentCreate(content_type="knowledge", title="早餐", body="燕麦"),
    )
    world.session.add(
        Placement(
            tenant_id=other_tenant,
            content_id=their_item.id,
            community_id=theirs,
            content_type="knowledge",
            publish_at=NOW - timedelta(hours=1),
            status="scheduled",
        )
    )
    await world.session.flush()
    await publishing.publish_due(session=world.session, outbox=OUTBOX, now=NOW)
    shared_id = str(uuid.uuid4())

    mine = await engagement.ingest(
        session=world.session,
        outbox=OUTBOX,
        tenant_id=TENANT,
        rows=[action(item.id, member_id, "like", id=shared_id)],
        now=NOW,
    )
    their_row = action(their_item.id, their_member, "like", id=shared_id)
    their_first = await engagement.ingest(
        session=world.session, outbox=OUTBOX, tenant_id=other_tenant, rows=[their_row], now=NOW
    )
    their_again = await engagement.ingest(
        session=world.session, outbox=OUTBOX, tenant_id=other_tenant, rows=[their_row], now=NOW
    )

    assert (mine.accepted, their_first.accepted, their_first.duplicates) == (1, 1, 0)
    assert (their_again.accepted, their_again.duplicates) == (0, 1)  # within one tenant, still counted once
    their_stats = await engagement.stats_of(session=world.session, tenant_id=other_tenant, content_id=their_item.id)
    our_stats = await engagement.stats_of(session=world.session, tenant_id=TENANT, content_id=item.id)
    assert (their_stats.likes, our_stats.likes) == (1, 1)
