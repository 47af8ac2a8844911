"""content-svc use cases."""

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from content_svc.models import ERASED_MEMBERS, AudienceMember
from content_svc.schemas import CommunityAudience
from qunyun_shared.db import upsert
from qunyun_shared.erasure import erased_among, remember_erased
from qunyun_shared.events.member import MemberJoinedV1


async def add_to_audience(*, session: AsyncSession, joins: Sequence[tuple[str, MemberJoinedV1]]) -> None:
    """Records members who joined communities (tenant, event); a repeated join, or a late one of an
    erased member, changes nothing."""
    erased = await erased_among(session, ERASED_MEMBERS, (j.member_id for _, j in joins))
    joins = [(tenant_id, j) for tenant_id, j in joins if j.member_id not in erased]
    if not joins:
        return
    rows = [
        {"tenant_id": tenant_id, "community_id": j.community_id, "member_id": j.member_id, "joined_at": j.joined_at}
        for tenant_id, j in joins
    ]
    await session.execute(upsert(session, AudienceMember.__table__).on_conflict_do_nothing(), rows)


async def remove_from_audience(*, session: AsyncSession, leaves: Sequence[tuple[uuid.UUID, uuid.UUID]]) -> None:
    """Forgets (community, member) pairs after `member.left`."""
    key = tuple_(AudienceMember.community_id, AudienceMember.member_id)
    await session.execute(delete(AudienceMember).where(key.in_(leaves)))


async def forget_members(*, session: AsyncSession, erased: Sequence[tuple[str, uuid.UUID]]) -> None:
    """Deletes every trace of erased (tenant, member)s (PIPL), and remembers only that they were erased."""
    await remember_erased(session, ERASED_MEMBERS, erased)
    for tenant_id, member_id in erased:
        await session.execute(
            delete(AudienceMember).where(AudienceMember.tenant_id == tenant_id, AudienceMember.member_id == member_id)
        )


async def community_audience(*, session: AsyncSession, tenant_id: str, community_id: uuid.UUID) -> CommunityAudience:
    """How many members content published to a community reaches."""
    members = await session.scalar(
        select(func.count())
        .select_from(AudienceMember)
        .where(AudienceMember.tenant_id == tenant_id, AudienceMember.community_id == community_id)
    )
    return CommunityAudience(community_id=community_id, members=members or 0)
