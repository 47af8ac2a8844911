"""content-svc use cases."""

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc.models import AudienceMember
from content_svc.schemas import CommunityAudience
from qunyun_shared.db import upsert
from qunyun_shared.events.member import MemberJoinedV1


async def add_to_audience(*, session: AsyncSession, joins: Sequence[tuple[str, MemberJoinedV1]]) -> None:
    """Records members who joined communities (tenant, event); a repeated join changes nothing."""
    rows = [
        {"tenant_id": tenant_id, "community_id": j.community_id, "member_id": j.member_id, "joined_at": j.joined_at}
        for tenant_id, j in joins
    ]
    await session.execute(upsert(session, AudienceMember.__table__).on_conflict_do_nothing(), rows)


async def remove_from_audience(*, session: AsyncSession, leaves: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """Forgets (community, member) pairs after `member.left`."""
    key = tuple_(AudienceMember.community_id, AudienceMember.member_id)
    await session.execute(delete(AudienceMember).where(key.in_(leaves)))


async def forget_members(*, session: AsyncSession, member_ids: Sequence[uuid.UUID]) -> None:
    """Deletes every trace of erased members (PIPL)."""
    await session.execute(delete(AudienceMember).where(AudienceMember.member_id.in_(member_ids)))


async def community_audience(*, session: AsyncSession, tenant_id: str, community_id: uuid.UUID) -> CommunityAudience:
    """How many members content published to a community reaches."""
    members = await session.scalar(
        select(func.count())
        .select_from(AudienceMember)
        .where(AudienceMember.tenant_id == tenant_id, AudienceMember.community_id == community_id)
    )
    return CommunityAudience(community_id=community_id, members=members or 0)
