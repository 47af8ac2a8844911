"""Communities' use cases: the running member counts, a community's members now, its top content."""

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.communities.models import CommunityMembership
from analytics_svc.communities.schemas import CommunityMemberCount
from analytics_svc.exceptions import CommunityNotFound
from analytics_svc.ingestion.models import ContentFact
from qunyun_shared.db import upsert


async def count_membership_changes(
    *, session: AsyncSession, joins: Sequence[tuple[str, uuid.UUID]] = (), leaves: Sequence[tuple[str, uuid.UUID]] = ()
) -> None:
    """Adds joins and leaves (tenant, community) to the running counts, one upsert per community."""
    joined, left = Counter(joins), Counter(leaves)
    table = CommunityMembership.__table__
    now = datetime.now(UTC)
    rows = [
        {
            "tenant_id": key[0],
            "community_id": key[1],
            "joined_total": joined[key],
            "left_total": left[key],
            "updated_at": now,
        }
        # Sorted, so concurrent consumers lock rows in one order and cannot deadlock.
        for key in sorted(joined.keys() | left.keys())
    ]
    if not rows:
        return
    statement = upsert(session, table)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.tenant_id, table.c.community_id],
            set_={
                "joined_total": table.c.joined_total + statement.excluded.joined_total,
                "left_total": table.c.left_total + statement.excluded.left_total,
                "updated_at": statement.excluded.updated_at,
            },
        ),
        rows,
    )


async def community_member_count(
    *, session: AsyncSession, tenant_id: str, community_id: uuid.UUID
) -> CommunityMemberCount:
    """How many members a community has, as seen on the event stream (zero before its first join)."""
    counts = await session.get(CommunityMembership, (tenant_id, community_id))
    joined = counts.joined_total if counts else 0
    left = counts.left_total if counts else 0
    return CommunityMemberCount(community_id=community_id, members=joined - left, joined_total=joined, left_total=left)


async def require_community(*, session: AsyncSession, tenant_id: str, community_id: uuid.UUID) -> None:
    """Refuses a community analytics has never seen a member join (another tenant's looks the same)."""
    if await session.get(CommunityMembership, (tenant_id, community_id)) is None:
        raise CommunityNotFound(f"No community {community_id} has members on record.")


async def communities_of(*, session: AsyncSession, tenant_id: str) -> list[uuid.UUID]:
    """The tenant's communities analytics has seen a member join, by id."""
    found = await session.scalars(
        select(CommunityMembership.community_id)
        .where(CommunityMembership.tenant_id == tenant_id)
        .order_by(CommunityMembership.community_id)
    )
    return list(found)


async def top_content(
    *, session: AsyncSession, tenant_id: str, community_id: uuid.UUID, limit: int
) -> list[ContentFact]:
    """The community's items by engagement: interactions weigh more than views."""
    weight = (
        ContentFact.views
        + ContentFact.completes
        + 3 * (ContentFact.likes + ContentFact.comments + ContentFact.shares)
        + ContentFact.clicks
    )
    found = await session.scalars(
        select(ContentFact)
        .where(ContentFact.tenant_id == tenant_id, ContentFact.community_id == community_id)
        .order_by(weight.desc(), ContentFact.content_id)
        .limit(limit)
    )
    return list(found)
