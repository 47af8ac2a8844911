"""A member's erasure (PIPL): their facts and scores deleted, their orders kept for the tenant's totals
under a stranger's id, and the member remembered only as erased so late events cannot bring them back.
The daily member sets keep their bits: a number no longer tied to anyone, counted but not personal."""

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.models import ERASED_MEMBERS, MemberFacts, OrderFact
from qunyun_shared.erasure import remember_erased


async def forget_members(session: AsyncSession, erased: Sequence[tuple[str, uuid.UUID]]) -> None:
    await remember_erased(session, ERASED_MEMBERS, erased)
    for tenant_id, member_id in erased:
        await session.execute(
            delete(MemberFacts).where(MemberFacts.tenant_id == tenant_id, MemberFacts.member_id == member_id)
        )
        await session.execute(
            update(OrderFact)
            .where(OrderFact.tenant_id == tenant_id, OrderFact.member_id == member_id)
            .values(member_id=uuid.uuid4())
        )
        await session.execute(
            update(MemberFacts)
            .where(MemberFacts.tenant_id == tenant_id, MemberFacts.inviter_id == member_id)
            .values(inviter_id=None)
        )
        await session.execute(
            update(OrderFact)
            .where(OrderFact.tenant_id == tenant_id, OrderFact.inviter_id == member_id)
            .values(inviter_id=None)
        )
