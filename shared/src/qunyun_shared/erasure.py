"""What every service keeps about erased members: only that they were erased, so that a late or
replayed event (a join delivered again, a dead letter replayed) cannot bring their data back."""

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from alembic import op
from sqlalchemy import Column, MetaData, String, Table, Uuid, select
from sqlalchemy.ext.asyncio import AsyncSession

from qunyun_shared import advisory_locks
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
    """Records (tenant, member) pairs as erased; recording one twice changes nothing. Waits first for the
    transactions holding any of them against erasure (hold_against_erasure), and holds off new ones until
    this transaction ends."""
    erased = list(erased)
    await advisory_locks.hold(session, _locks(member_id for _, member_id in erased))
    now = datetime.now(UTC)
    rows = [{"tenant_id": tenant_id, "member_id": member_id, "erased_at": now} for tenant_id, member_id in erased]
    if rows:
        await session.execute(upsert(session, table).on_conflict_do_nothing(), rows)


async def hold_against_erasure(session: AsyncSession, member_ids: Iterable[uuid.UUID]) -> None:
    """Until the transaction ends, no erasure of these members commits; one that committed before is seen
    by erased_among after this. Taken before checking and writing what a request says of members, so that a
    write racing their erasure is either refused or reached by it, never kept under their id."""
    await advisory_locks.hold(session, _locks(member_ids), shared=True)


def _locks(member_ids: Iterable[uuid.UUID]) -> list[int]:
    return [advisory_locks.lock_key("erasure", str(member_id)) for member_id in member_ids]


async def erased_among(session: AsyncSession, table: Table, member_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """The members of `member_ids` who have been erased."""
    ids = set(member_ids)
    if not ids:
        return set()
    return set((await session.scalars(select(table.c.member_id).where(one_of(session, table.c.member_id, ids)))).all())
