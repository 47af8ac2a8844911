"""Events member-svc consumes, each type to one handler."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.communities import entry
from member_svc.communities import service as communities
from member_svc.points import rewards
from qunyun_shared.events import Envelope, payloads_of
from qunyun_shared.events.analytics import CommunityStageChangedV1
from qunyun_shared.events.campaign import OrderPlacedV1
from qunyun_shared.inbox import Handler
from qunyun_shared.outbox import Outbox


async def on_community_stage_changed(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    await communities.record_stages(session=session, stages=payloads_of(events, CommunityStageChangedV1))


async def on_order_placed(session: AsyncSession, outbox: Outbox, events: Sequence[Envelope]) -> None:
    """A run of orders together: the purchases entry rules look at, points, activity and lifecycle."""
    await entry.record_purchases(session=session, orders=payloads_of(events, OrderPlacedV1))
    await rewards.on_orders_placed(session=session, outbox=outbox, envelopes=events)


async def on_member_event(session: AsyncSession, outbox: Outbox, events: Sequence[Envelope]) -> None:
    """Points, activity, flags and segments: in the order they happened to the member."""
    await rewards.on_events(session=session, outbox=outbox, envelopes=events)


HANDLERS: dict[str, Handler] = {
    "community.stage_changed": on_community_stage_changed,
    "order.placed": on_order_placed,
    **dict.fromkeys(
        [
            "member.joined",
            "order.refunded",
            "checkin.recorded",
            "survey.answered",
            "content.posted",
            "content.engaged",
            "member.churn_risk",
            "member.segment_changed",
            "reward.granted",
        ],
        on_member_event,
    ),
}
