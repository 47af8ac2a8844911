"""Events content-svc consumes, each type to one handler."""

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from content_svc import service
from qunyun_shared.events import Envelope
from qunyun_shared.events.member import MemberJoinedV1, MemberLeftV1
from qunyun_shared.inbox import Handler


async def on_member_joined(session: AsyncSession, events: Sequence[Envelope]) -> None:
    joins = [(e.tenantid, e.data) for e in events if isinstance(e.data, MemberJoinedV1)]
    await service.add_to_audience(session=session, joins=joins)


async def on_member_left(session: AsyncSession, events: Sequence[Envelope]) -> None:
    leaves = [(e.data.community_id, e.data.member_id) for e in events if isinstance(e.data, MemberLeftV1)]
    await service.remove_from_audience(session=session, leaves=leaves)


HANDLERS: dict[str, Handler] = {
    "member.joined": on_member_joined,
    "member.left": on_member_left,
}
