"""Members campaign-svc has heard of: campaigns act only for members whose join reached them."""

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.members import service as members
from qunyun_shared.events.member import MemberJoinedV1


async def known_member(session: AsyncSession, tenant_id: str) -> uuid.UUID:
    """A member of the tenant as their `member.joined` leaves them in campaign-svc."""
    join = MemberJoinedV1(member_id=uuid.uuid4(), community_id=uuid.uuid4(), channel="qr", joined_at=datetime.now(UTC))
    await members.record_joins(session=session, joins=[(tenant_id, join)])
    return join.member_id


async def known_members(session: AsyncSession, tenant_id: str, count: int) -> list[uuid.UUID]:
    return [await known_member(session, tenant_id) for _ in range(count)]
