"""Pruning of rows kept only for a while, on real PostgreSQL and on SQLite: old settled rows go, a batch at a
time; fresh rows, unsettled rows and rows another transaction holds stay."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import cast

import pytest
import pytest_asyncio
from sqlalchemy import Boolean, Column, String, Table, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from qunyun_shared.db import UtcDateTime, new_metadata
from qunyun_shared.outbox import Outbox
from qunyun_shared.retention import pruning
from qunyun_shared.testing import in_memory_database
from tests.support.harness import scratch_database

pytestmark = pytest.mark.integration

METADATA = new_metadata()
LOG = Table(
    "log",
    METADATA,
    Column("owner", String(10), primary_key=True),
    Column("entry", String(10), primary_key=True),
    Column("written_at", UtcDateTime, nullable=False),
    Column("settled", Boolean, nullable=False),
)
NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
KEPT_FOR = timedelta(days=30)
SWEEP = pruning(LOG, LOG.c.written_at, KEPT_FOR, settled=LOG.c.settled, batch=4)


@pytest_asyncio.fixture(params=["postgresql", "sqlite"])
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    database = scratch_database if request.param == "postgresql" else in_memory_database
    async with database(METADATA) as engine:
        yield engine


async def sweep(engine: AsyncEngine) -> int:
    async with AsyncSession(engine) as session, session.begin():
        return await SWEEP(session, cast(Outbox, None), NOW)


async def entries(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return set(await connection.scalars(select(LOG.c.entry)))


async def test_old_settled_rows_are_deleted_a_batch_at_a_time(engine: AsyncEngine) -> None:
    rows = [
        {"owner": owner, "entry": f"{owner}{n}", "written_at": NOW - KEPT_FOR - timedelta(hours=n), "settled": True}
        for owner in "ab"
        for n in range(1, 6)
    ] + [
        {"owner": "a", "entry": "fresh", "written_at": NOW - KEPT_FOR + timedelta(seconds=1), "settled": True},
        {"owner": "a", "entry": "open", "written_at": NOW - 2 * KEPT_FOR, "settled": False},
    ]
    async with engine.begin() as connection:
        await connection.execute(insert(LOG), rows)
    assert [await sweep(engine) for _ in range(4)] == [4, 4, 2, 0]
    assert await entries(engine) == {"fresh", "open"}


async def test_rows_another_transaction_holds_are_left_for_the_next_sweep() -> None:
    old = [{"owner": "a", "entry": f"e{n}", "written_at": NOW - 2 * KEPT_FOR, "settled": True} for n in range(3)]
    async with scratch_database(METADATA) as engine:  # SQLite locks the whole database, not rows
        async with engine.begin() as connection:
            await connection.execute(insert(LOG), old)
        async with engine.connect() as holder, holder.begin():
            await holder.execute(select(LOG).where(LOG.c.entry == "e1").with_for_update())
            assert await sweep(engine) == 2
        assert await entries(engine) == {"e1"}
        assert await sweep(engine) == 1
