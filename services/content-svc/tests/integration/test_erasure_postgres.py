"""Erasure on real PostgreSQL and Kafka: `member.erased` through the consumer forgets the member for good,
whatever of their history is delivered again afterwards, and keeps their actions in the statistics under a
name nobody holds."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc import erasure
from content_svc.audience import service as audience
from content_svc.audience.models import AudienceMember, MemberTag
from content_svc.engagement.models import Engagement
from content_svc.items.models import ContentItem
from qunyun_shared.events import new_event
from qunyun_shared.events.member import MemberErasedV1, MemberJoinedV1, MemberTaggedV1

from .world import Tenant, at_once, consume, outcome, published_item, report

pytestmark = pytest.mark.integration


async def test_an_erased_member_stays_forgotten_whatever_of_their_history_is_delivered_again(tenant: Tenant) -> None:
    community = await tenant.community()
    content_id = await published_item(tenant, community)
    member_id, other = uuid.uuid4(), uuid.uuid4()
    post = await tenant.post(await tenant.member(community), community, "今天的早餐")  # someone else's post
    history = [
        MemberJoinedV1(member_id=member_id, community_id=community, channel="qr", joined_at=datetime.now(UTC)),
        MemberTaggedV1(member_id=member_id, tag="宝妈", kind="manual", action="added"),
        MemberJoinedV1(member_id=other, community_id=community, channel="qr", joined_at=datetime.now(UTC)),
    ]
    first = [new_event(source="member-svc", tenant_id=tenant.tenant_id, payload=p) for p in history]
    await consume(tenant.engine, first, handled=3)
    occurred = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    action = {"content_id": str(content_id), "member_id": str(member_id), "action": "view", "occurred_at": occurred}
    assert (await report(tenant, [action])).accepted == 1

    erased = new_event(source="member-svc", tenant_id=tenant.tenant_id, payload=MemberErasedV1(member_id=member_id))
    # member-svc's topics read again from the start (a new consumer group, a restored backup): the history
    # comes back after the erasure, and a late join of theirs too.
    late_join = MemberJoinedV1(member_id=member_id, community_id=community, channel="qr", joined_at=datetime.now(UTC))
    replay = [erased, *first, new_event(source="member-svc", tenant_id=tenant.tenant_id, payload=late_join)]
    await consume(tenant.engine, replay, handled=len(replay))

    async with AsyncSession(tenant.engine) as session:
        kept = {
            "audience": set(
                await session.scalars(select(AudienceMember.member_id).where(AudienceMember.community_id == community))
            ),
            "tags": await session.scalar(select(func.count()).where(MemberTag.member_id == member_id)),
            "actions as them": await session.scalar(select(func.count()).where(Engagement.member_id == member_id)),
            "actions of the item": await session.scalar(
                select(func.count()).where(Engagement.content_id == content_id)
            ),
            "the other's post": (await session.get_one(ContentItem, post.id)).status,
        }
    assert kept == {
        "audience": {other, post.author_member_id},
        "tags": 0,
        "actions as them": 0,
        "actions of the item": 1,  # the view still counts, under a stranger's id
        "the other's post": "ready",
    }
    refused = await report(tenant, [{**action, "occurred_at": datetime.now(UTC).isoformat()}])
    assert (refused.accepted, [r.detail for r in refused.rejected]) == (0, [f"member {member_id} was erased"])
    assert await tenant.run(lambda session: audience.audience_size(session=session, community_id=community)) == 2


async def test_actions_reported_while_their_member_is_erased_keep_nothing_of_them(tenant: Tenant) -> None:
    community = await tenant.community()
    content_id = await published_item(tenant, community)
    member_id = await tenant.member(community)
    occurred = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    action = {"content_id": str(content_id), "member_id": str(member_id), "action": "view", "occurred_at": occurred}

    async def erase(session: AsyncSession) -> None:
        await erasure.forget_members(session=session, erased=[(tenant.tenant_id, member_id)])

    reports = [report(tenant, [{**action, "id": str(uuid.uuid4())}]) for _ in range(20)]
    answers = await at_once(*reports[:10], tenant.run(erase), *reports[10:])

    assert {outcome(a) for a in answers} == {"ok"}
    async with AsyncSession(tenant.engine) as session:
        as_them = await session.scalar(select(func.count()).where(Engagement.member_id == member_id))
    assert as_them == 0  # each action either refused or pseudonymised, none kept under their id
