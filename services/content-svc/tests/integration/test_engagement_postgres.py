"""Engagement on real PostgreSQL: a batch front-ends resend at once, in any order, is counted once (actions,
`content.engaged`, reading hours, tag affinity); and through the real consumer on Kafka, redelivered and
republished events change nothing the first delivery did not."""

import random
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc.audience import service as audience
from content_svc.engagement import service as engagement
from content_svc.engagement.models import CommunityHourActivity, Engagement, MemberAffinity
from content_svc.engagement.schemas import ContentStats
from qunyun_shared.events import new_event
from qunyun_shared.events.campaign import Attribution, OrderPlacedV1
from qunyun_shared.events.member import MemberJoinedV1

from .world import Tenant, at_once, consume, outcome, published_item, report

pytestmark = pytest.mark.integration

ACTIONS = ("view", "like", "share")  # affinity 1 + 3 + 5 for each of the item's tags


def batch(content_id: uuid.UUID, members: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
    """Each member's view, like and share of the item, each with the front-end's id for it."""
    occurred_at = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    return [
        {
            "id": str(uuid.uuid4()),
            "content_id": str(content_id),
            "member_id": str(m),
            "action": a,
            "occurred_at": occurred_at,
        }
        for m in members
        for a in ACTIONS
    ]


async def learned(tenant: Tenant, content_id: uuid.UUID, community_id: uuid.UUID) -> dict[str, Any]:
    """What the item's actions left behind: rows, events, the community's reading hours, members' affinity."""
    async with AsyncSession(tenant.engine) as session:
        stored = await session.scalar(select(func.count()).where(Engagement.content_id == content_id))
        hours = await session.scalar(
            select(func.sum(CommunityHourActivity.engagements)).where(
                CommunityHourActivity.community_id == community_id
            )
        )
        affinity = (
            await session.execute(
                select(MemberAffinity.tag, MemberAffinity.weight).where(MemberAffinity.tenant_id == tenant.tenant_id)
            )
        ).all()
    return {
        "stored": stored,
        "engaged": len(await tenant.events("content.engaged")),
        "hours": hours,
        "affinity": Counter(weight for _, weight in affinity),
    }


@pytest.mark.parametrize("order", ["as sent", "shuffled"])
async def test_a_batch_resent_at_once_is_counted_once(tenant: Tenant, order: str) -> None:
    community = await tenant.community()
    members = [await tenant.member(community) for _ in range(4)]
    content_id = await published_item(tenant, community)
    rows = batch(content_id, members)
    chance = random.Random(7)
    resent = [rows if order == "as sent" else chance.sample(rows, len(rows)) for _ in range(6)]

    receipts = await at_once(*(report(tenant, r) for r in resent))

    assert [outcome(r) for r in receipts] == ["ok"] * 6
    assert sum(r.accepted for r in receipts) == 12 and sum(r.duplicates for r in receipts) == 60  # type: ignore[union-attr]
    # Each member's three actions weigh 1 + 3 + 5 for the item's one tag: once, not six times.
    assert await learned(tenant, content_id, community) == {
        "stored": 12,
        "engaged": 12,
        "hours": 12,
        "affinity": Counter({9.0: 4}),
    }


async def test_redelivered_and_republished_events_through_the_consumer_count_once(tenant: Tenant) -> None:
    community = await tenant.community()
    content_id = await published_item(tenant, community)
    member_id, order_id = uuid.uuid4(), uuid.uuid4()
    joined = new_event(
        source="member-svc",
        tenant_id=tenant.tenant_id,
        payload=MemberJoinedV1(member_id=member_id, community_id=community, channel="qr", joined_at=datetime.now(UTC)),
    )
    order = OrderPlacedV1(
        order_id=order_id,
        member_id=member_id,
        amount_fen=4_990,
        attribution=Attribution(content_id=content_id),
        placed_at=datetime.now(UTC),
    )
    placed = new_event(source="campaign-svc", tenant_id=tenant.tenant_id, payload=order)
    # campaign-svc's relay published it again after a crash (same event), and a replay wrote it anew.
    republished = new_event(source="campaign-svc", tenant_id=tenant.tenant_id, payload=order)
    stranger = new_event(
        source="campaign-svc",
        tenant_id=f"{tenant.tenant_id}-other",
        payload=order.model_copy(update={"order_id": uuid.uuid4()}),
    )

    # Handled: the join, the order, its republication and the other tenant's order; the repeats dropped.
    await consume(tenant.engine, [joined, joined, placed, placed, republished, stranger], handled=4)

    stats: ContentStats = await tenant.run(
        lambda session: engagement.stats_of(session=session, tenant_id=tenant.tenant_id, content_id=content_id)
    )
    assert (stats.orders, stats.gmv_fen) == (1, 4_990)  # not the other tenant's order of this item either
    assert await tenant.run(lambda session: audience.audience_size(session=session, community_id=community)) == 1
