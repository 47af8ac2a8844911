"""What every service keeps about erased members: only that they were erased, so that a late or
replayed event (a join delivered again, a dead letter replayed) cannot bring their data back."""

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

from alembic import op
from sqlalchemy import Column, MetaData, String, Table, TextClause, Uuid, select, text
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
    """Records (tenant, member) pairs as erased; recording one twice changes nothing. Waits first for the
    transactions holding any of them against erasure (hold_against_erasure), and holds off new ones until
    this transaction ends."""
    erased = list(erased)
    await _lock_members(session, [member_id for _, member_id in erased], _EXCLUSIVE)
    now = datetime.now(UTC)
    rows = [{"tenant_id": tenant_id, "member_id": member_id, "erased_at": now} for tenant_id, member_id in erased]
    if rows:
        await session.execute(upsert(session, table).on_conflict_do_nothing(), rows)


async def hold_against_erasure(session: AsyncSession, member_ids: Iterable[uuid.UUID]) -> None:
    """Until the transaction ends, no erasure of these members commits; one that committed before is seen
    by erased_among after this. Taken before checking and writing what a request says of members, so that a
    write racing their erasure is either refused or reached by it, never kept under their id."""
    await _lock_members(session, member_ids, _SHARED)


# Erasure's advisory locks, in a key space of their own (the two-integer form, first integer this one).
_NAMESPACE = 0x45_52_41_53  # "ERAS"
_SHARED = text("SELECT pg_advisory_xact_lock_shared(:namespace, key) FROM unnest(CAST(:keys AS integer[])) AS key")
_EXCLUSIVE = text("SELECT pg_advisory_xact_lock(:namespace, key) FROM unnest(CAST(:keys AS integer[])) AS key")


async def _lock_members(session: AsyncSession, member_ids: Iterable[uuid.UUID], statement: TextClause) -> None:
    # Keys in one order everywhere, so two transactions wanting some of the same members cannot each wait for
    # the other; members whose keys collide only wait for each other a little. SQLite's one writer at a time
    # already keeps them apart.
    keys = sorted({int.from_bytes(member_id.bytes[:4], "big", signed=True) for member_id in member_ids})
    if keys and session.get_bind().dialect.name == "postgresql":
        await session.execute(statement, {"namespace": _NAMESPACE, "keys": keys})


async def erased_among(session: AsyncSession, table: Table, member_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """The members of `member_ids` who have been erased."""
    ids = set(member_ids)
    if not ids:
        return set()
    return set((await session.scalars(select(table.c.member_id).where(one_of(session, table.c.member_id, ids)))).all())
