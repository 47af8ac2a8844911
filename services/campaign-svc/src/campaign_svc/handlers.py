"""Events campaign-svc consumes, each type to one handler."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc import service
from qunyun_shared.events import Envelope, payloads_of
from qunyun_shared.events.member import MemberErasedV1, MemberJoinedV1
from qunyun_shared.inbox import Handler
from qunyun_shared.outbox import Outbox


async def on_member_joined(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    await service.record_joins(session=session, joins=payloads_of(events, MemberJoinedV1))


async def on_member_erased(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    erased = [(tenant_id, erasure.member_id) for tenant_id, erasure in payloads_of(events, MemberErasedV1)]
    await service.forget_members(session=session, erased=erased)


HANDLERS: dict[str, Handler] = {
    "member.joined": on_member_joined,
    "member.erased": on_member_erased,
}
