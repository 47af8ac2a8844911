"""Events analytics-svc consumes, each type to one handler."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import service
from qunyun_shared.events import Envelope, payloads_of
from qunyun_shared.events.member import MemberJoinedV1, MemberLeftV1
from qunyun_shared.inbox import Handler
from qunyun_shared.outbox import Outbox


async def on_member_joined(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    joins = [(tenant_id, joined.community_id) for tenant_id, joined in payloads_of(events, MemberJoinedV1)]
    await service.count_membership_changes(session=session, joins=joins)


async def on_member_left(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    leaves = [(tenant_id, left.community_id) for tenant_id, left in payloads_of(events, MemberLeftV1)]
    await service.count_membership_changes(session=session, leaves=leaves)


HANDLERS: dict[str, Handler] = {
    "member.joined": on_member_joined,
    "member.left": on_member_left,
}
