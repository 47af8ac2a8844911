"""Per-member limits (coupons per member, units per member in a flash sale, draws per member)."""

import uuid
from functools import cache
from typing import cast

from sqlalchemy import Table, bindparam, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from campaign_svc.campaigns.models import MemberQuota

_QUOTAS = cast(Table, MemberQuota.__table__)


async def claim(*, session: AsyncSession, scope_id: uuid.UUID, member_id: uuid.UUID, amount: int, limit: int) -> bool:
    """Takes `amount` of the member's `limit` in `scope_id`, or nothing if it would pass the limit.

    One conditional upsert: concurrent claims queue on the row and each sees the others' use.
    """
    if amount > limit:
        return False
    statement = _claim_statement(session.get_bind().dialect.name)
    values = {"scope": scope_id, "member": member_id, "amount": amount, "most": limit}
    return (await session.execute(statement, values)).first() is not None


@cache
def _claim_statement(dialect: str) -> Insert:
    # Built once: it is on a flash sale's hot path, where building it cost more than running it.
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(_QUOTAS)
    statement = insert.values(scope_id=bindparam("scope"), member_id=bindparam("member"), used=bindparam("amount"))
    return statement.on_conflict_do_update(
        index_elements=[_QUOTAS.c.scope_id, _QUOTAS.c.member_id],
        set_={"used": _QUOTAS.c.used + statement.excluded.used},
        where=_QUOTAS.c.used + statement.excluded.used <= bindparam("most"),
    ).returning(_QUOTAS.c.used)


async def give_back(*, session: AsyncSession, scope_id: uuid.UUID, member_id: uuid.UUID, amount: int) -> None:
    """Returns what a cancelled purchase or issue took."""
    await session.execute(
        update(MemberQuota)
        .where(MemberQuota.scope_id == scope_id, MemberQuota.member_id == member_id)
        .values(used=MemberQuota.used - amount)
    )
