"""Events member-svc consumes, each type to one handler."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from member_svc import entry, service
from qunyun_shared.events import Envelope, payloads_of
from qunyun_shared.events.analytics import CommunityStageChangedV1
from qunyun_shared.events.campaign import OrderPlacedV1
from qunyun_shared.inbox import Handler


async def on_community_stage_changed(session: AsyncSession, events: Sequence[Envelope]) -> None:
    await service.record_stages(session=session, stages=payloads_of(events, CommunityStageChangedV1))


async def on_order_placed(session: AsyncSession, events: Sequence[Envelope]) -> None:
    await entry.record_purchases(session=session, orders=payloads_of(events, OrderPlacedV1))


HANDLERS: dict[str, Handler] = {
    "community.stage_changed": on_community_stage_changed,
    "order.placed": on_order_placed,
}
