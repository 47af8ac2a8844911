"""Per-member limits (coupons per member, units per member in a flash sale, draws per member)."""

import uuid

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.models import MemberQuota
from qunyun_shared.db import upsert


async def claim(session: AsyncSession, scope_id: uuid.UUID, member_id: uuid.UUID, amount: int, limit: int) -> bool:
    """Takes `amount` of the member's `limit` in `scope_id`, or nothing if it would pass the limit.

    One conditional upsert: concurrent claims queue on the row and each sees the others' use.
    """
    if amount > limit:
        return False
    table = MemberQuota.__table__
    statement = upsert(session, table).values(scope_id=scope_id, member_id=member_id, used=amount)
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.scope_id, table.c.member_id],
        set_={"used": table.c.used + statement.excluded.used},
        where=table.c.used + statement.excluded.used <= limit,
    ).returning(table.c.used)
    return (await session.execute(statement)).first() is not None


async def give_back(session: AsyncSession, scope_id: uuid.UUID, member_id: uuid.UUID, amount: int) -> None:
    """Returns what a cancelled purchase or issue took."""
    await session.execute(
        update(MemberQuota)
        .where(MemberQuota.scope_id == scope_id, MemberQuota.member_id == member_id)
        .values(used=MemberQuota.used - amount)
    )
