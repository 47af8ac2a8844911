"""campaign-svc use cases."""

import uuid
from collections import Counter
from collections.abc import Sequence

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.exceptions import ProspectNotFound
from campaign_svc.models import ERASED_MEMBERS, Prospect
from qunyun_shared.db import upsert
from qunyun_shared.erasure import erased_among, remember_erased
from qunyun_shared.events.member import MemberJoinedV1


async def record_joins(*, session: AsyncSession, joins: Sequence[tuple[str, MemberJoinedV1]]) -> None:
    """Counts joins against their members; a member's first join fixes the inviter and the join time.
    A late join of an erased member changes nothing."""
    erased = await erased_among(session, ERASED_MEMBERS, (j.member_id for _, j in joins))
    first_joins: dict[uuid.UUID, tuple[str, MemberJoinedV1]] = {}
    joins_per_member: Counter[uuid.UUID] = Counter()
    for tenant_id, join in joins:
        if join.member_id in erased:
            continue
        first_joins.setdefault(join.member_id, (tenant_id, join))
        joins_per_member[join.member_id] += 1
    if not first_joins:
        return
    # Sorted, so concurrent consumers lock rows in one order and cannot deadlock.
    rows = [
        {
            "member_id": member_id,
            "tenant_id": tenant_id,
            "inviter_id": join.inviter_id,
            "first_joined_at": join.joined_at,
            "communities_joined": joins_per_member[member_id],
        }
        for member_id, (tenant_id, join) in sorted(first_joins.items())
    ]
    table = Prospect.__table__
    statement = upsert(session, table)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.member_id],
            set_={"communities_joined": table.c.communities_joined + statement.excluded.communities_joined},
        ),
        rows,
    )


async def forget_members(*, session: AsyncSession, erased: Sequence[tuple[str, uuid.UUID]]) -> None:
    """Deletes every trace of erased (tenant, member)s (PIPL), and remembers only that they were erased.
    As an inviter, an erased member's id is cut from the members they invited."""
    await remember_erased(session, ERASED_MEMBERS, erased)
    for tenant_id, member_id in erased:
        await session.execute(delete(Prospect).where(Prospect.tenant_id == tenant_id, Prospect.member_id == member_id))
        await session.execute(
            update(Prospect)
            .where(Prospect.tenant_id == tenant_id, Prospect.inviter_id == member_id)
            .values(inviter_id=None)
        )


async def get_prospect(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> Prospect:
    """Returns what campaigns know of one of the tenant's members."""
    prospect = await session.get(Prospect, member_id)
    if prospect is None or prospect.tenant_id != tenant_id:
        raise ProspectNotFound(f"No member {member_id} has joined a community yet.")
    return prospect
