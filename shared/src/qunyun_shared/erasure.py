"""What every service keeps about erased members: only that they were erased, so that a late or
replayed event (a join delivered again, a dead letter replayed) cannot bring their data back."""

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from alembic import op
from sqlalchemy import Column, MetaData, String, Table, Uuid, select
from sqlalchemy.ext.asyncio import AsyncSession

from qunyun_shared.db import UtcDateTime, one_of, upsert


def erased_members_table(metadata: MetaData) -> Table:
    """Declares `erased_members` on a service's metadata."""
    return Table(
        "erased_members",
        metadata,
        Column("member_id", Uuid, primary_key=True),
        Column("tenant_id", String(64), nullable=False),
        Column("erased_at", UtcDateTime, nullable=False),
    )


def create_erased_members_table_v1() -> None:
    """The migration step that creates `erased_members` as first defined."""
    op.create_table(
        "erased_members",
        Column("member_id", Uuid, primary_key=True),
        Column("tenant_id", String(64), nullable=False),
        Column("erased_at", UtcDateTime, nullable=False),
    )


async def remember_erased(session: AsyncSession, table: Table, erased: Iterable[tuple[str, uuid.UUID]]) -> None:
    """Records (tenant, member) pairs as erased; recording one twice changes nothing."""
    now = datetime.now(UTC)
    rows = [{"tenant_id": tenant_id, "member_id": member_id, "erased_at": now} for tenant_id, member_id in erased]
    if rows:
        await session.execute(upsert(session, table).on_conflict_do_nothing(), rows)


async def erased_among(session: AsyncSession, table: Table, member_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """The members of `member_ids` who have been erased."""
    ids = set(member_ids)
    if not ids:
        return set()
    return set((await session.scalars(select(table.c.member_id).where(one_of(session, table.c.member_id, ids)))).all())
