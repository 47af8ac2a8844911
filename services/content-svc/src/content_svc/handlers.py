"""Events content-svc consumes, each type to one handler."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from content_svc import service
from qunyun_shared.events import Envelope, payloads_of
from qunyun_shared.events.member import MemberErasedV1, MemberJoinedV1, MemberLeftV1
from qunyun_shared.inbox import Handler
from qunyun_shared.outbox import Outbox


async def on_member_joined(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    await service.add_to_audience(session=session, joins=payloads_of(events, MemberJoinedV1))


async def on_member_left(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    leaves = [(left.community_id, left.member_id) for _, left in payloads_of(events, MemberLeftV1)]
    await service.remove_from_audience(session=session, leaves=leaves)


async def on_member_erased(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    erased = [(tenant_id, erasure.member_id) for tenant_id, erasure in payloads_of(events, MemberErasedV1)]
    await service.forget_members(session=session, erased=erased)


HANDLERS: dict[str, Handler] = {
    "member.joined": on_member_joined,
    "member.left": on_member_left,
    "member.erased": on_member_erased,
}
