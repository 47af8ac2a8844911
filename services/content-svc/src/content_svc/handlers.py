"""Events content-svc consumes, each type to one handler."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from content_svc import erasure
from content_svc.audience import service as audience
from content_svc.engagement import service as engagement
from qunyun_shared.events import Envelope, payloads_of
from qunyun_shared.events.analytics import MemberSegmentChangedV1
from qunyun_shared.events.campaign import OrderPlacedV1
from qunyun_shared.events.member import (
    CommunityArchivedV1,
    CommunityOpenedV1,
    MemberErasedV1,
    MemberJoinedV1,
    MemberLeftV1,
    MemberTaggedV1,
)
from qunyun_shared.inbox import Handler
from qunyun_shared.outbox import Outbox


async def on_community_opened(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    await audience.open_communities(session=session, opened=payloads_of(events, CommunityOpenedV1))


async def on_community_archived(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    await audience.archive_communities(session=session, archived=payloads_of(events, CommunityArchivedV1))


async def on_member_joined(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    await audience.add_to_audience(session=session, joins=payloads_of(events, MemberJoinedV1))


async def on_member_left(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    leaves = [(left.community_id, left.member_id) for _, left in payloads_of(events, MemberLeftV1)]
    await audience.remove_from_audience(session=session, leaves=leaves)


async def on_member_tagged(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    await audience.apply_tags(session=session, tagged=payloads_of(events, MemberTaggedV1))


async def on_segment_changed(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    await audience.apply_segments(session=session, changes=payloads_of(events, MemberSegmentChangedV1))


async def on_order_placed(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    await engagement.attribute_orders(session=session, orders=payloads_of(events, OrderPlacedV1))


async def on_member_erased(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    erased = [(tenant_id, erasure_.member_id) for tenant_id, erasure_ in payloads_of(events, MemberErasedV1)]
    await erasure.forget_members(session=session, erased=erased)


HANDLERS: dict[str, Handler] = {
    "community.opened": on_community_opened,
    "community.archived": on_community_archived,
    "member.joined": on_member_joined,
    "member.left": on_member_left,
    "member.tagged": on_member_tagged,
    "member.segment_changed": on_segment_changed,
    "order.placed": on_order_placed,
    "member.erased": on_member_erased,
}
