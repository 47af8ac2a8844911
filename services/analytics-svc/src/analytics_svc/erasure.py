"""A member's erasure (PIPL): their facts, scores and history of memberships deleted, their orders and
invitations kept for the tenant's totals under a stranger's id, and the member remembered only as erased
so late events cannot bring them back. The daily member sets keep their bits: a number no longer tied to anyone, counted but
not personal.

Events of the member may be ingested at the same moment on another replica: erasure takes the members'
locks ingestion takes for members it has no row of (analytics_svc.ingestion.members), then their rows in
member id order, so one of the two waits for the other to commit and then sees what it did.
"""

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import locks
from analytics_svc.db import ERASED_MEMBERS
from analytics_svc.ingestion.models import MemberCommunity, MemberFacts, MembershipChange, OrderFact
from analytics_svc.referrals.models import InvitationFact
from qunyun_shared.erasure import remember_erased


async def forget_members(*, session: AsyncSession, erased: Sequence[tuple[str, uuid.UUID]]) -> None:
    """Forgets each erased (tenant, member): their facts deleted, their orders and invitations a stranger's."""
    await locks.hold_members(session=session, members=erased)
    await remember_erased(session, ERASED_MEMBERS, erased)
    await _lock_rows(session, [member_id for _, member_id in erased])
    for tenant_id, member_id in erased:
        await _forget(session, tenant_id, member_id)


async def _lock_rows(session: AsyncSession, member_ids: Sequence[uuid.UUID]) -> None:
    """Locks the rows erasure changes, the members' and those of members they invited, in member id order."""
    if member_ids:
        await session.execute(
            select(MemberFacts.number)
            .where(or_(MemberFacts.member_id.in_(member_ids), MemberFacts.inviter_id.in_(member_ids)))
            .order_by(MemberFacts.member_id)
            .with_for_update()
        )


async def _forget(session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> None:
    await session.execute(
        delete(MemberFacts).where(MemberFacts.tenant_id == tenant_id, MemberFacts.member_id == member_id)
    )
    await session.execute(
        delete(MemberCommunity).where(MemberCommunity.tenant_id == tenant_id, MemberCommunity.member_id == member_id)
    )
    await session.execute(
        delete(MembershipChange).where(MembershipChange.tenant_id == tenant_id, MembershipChange.member_id == member_id)
    )
    await session.execute(
        update(OrderFact)
        .where(OrderFact.tenant_id == tenant_id, OrderFact.member_id == member_id)
        .values(member_id=uuid.uuid4())
    )
    await session.execute(
        update(InvitationFact)
        .where(InvitationFact.tenant_id == tenant_id, InvitationFact.inviter_id == member_id)
        .values(inviter_id=uuid.uuid4())
    )
    for invited in (MemberFacts, MemberCommunity, OrderFact):
        await session.execute(
            update(invited)
            .where(invited.tenant_id == tenant_id, invited.inviter_id == member_id)
            .values(inviter_id=None)
        )
