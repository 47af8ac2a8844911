"""Events analytics-svc consumes, each type to one handler."""

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import service
from qunyun_shared.events import Envelope
from qunyun_shared.events.member import MemberJoinedV1, MemberLeftV1
from qunyun_shared.inbox import Handler


def _community(envelope: Envelope) -> tuple[str, uuid.UUID]:
    assert isinstance(envelope.data, MemberJoinedV1 | MemberLeftV1)
    return envelope.tenantid, envelope.data.community_id


async def on_member_joined(session: AsyncSession, events: Sequence[Envelope]) -> None:
    await service.count_membership_changes(session=session, joins=[_community(e) for e in events])


async def on_member_left(session: AsyncSession, events: Sequence[Envelope]) -> None:
    await service.count_membership_changes(session=session, leaves=[_community(e) for e in events])


HANDLERS: dict[str, Handler] = {
    "member.joined": on_member_joined,
    "member.left": on_member_left,
}
