"""insert_rows, update_rows and one_of_keys, which bind a batch's rows as column arrays on PostgreSQL,
against real PostgreSQL and against SQLite (the executemany and the IN list they stand for there)."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import ARRAY, JSON, BigInteger, Column, Date, Integer, String, Table, Uuid, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from qunyun_shared.db import UtcDateTime, insert_rows, new_metadata, one_of_keys, update_rows
from qunyun_shared.testing import in_memory_database
from tests.support.harness import scratch_database

pytestmark = pytest.mark.integration

METADATA = new_metadata()
TALLIES = Table(
    "tallies",
    METADATA,
    Column("user", String(20), primary_key=True),  # a reserved word: the arrays name it quoted
    Column("thing", Uuid, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("value", BigInteger, nullable=False),
    Column("seen_at", UtcDateTime),
    Column("notes", JSON),
    Column("version", Integer, nullable=False, default=1),
)
NUMBERED = Table(
    "numbered", METADATA, Column("id", Uuid, primary_key=True, default=uuid.uuid4), Column("name", String(20))
)
SEQUENCED = Table("sequenced", METADATA, Column("id", Integer, primary_key=True), Column("name", String(20)))
# Never created (SQLite has no arrays): insert_rows refuses it before any statement.
LISTED = Table("listed", new_metadata(), Column("id", Integer, primary_key=True), Column("tags", ARRAY(String(20))))
SEEN_AT = datetime(2026, 3, 1, 8, tzinfo=UTC)


@pytest_asyncio.fixture(params=["postgresql", "sqlite"])
async def engine(request: pytest.FixtureRequest) -> AsyncIterator[AsyncEngine]:
    database = scratch_database if request.param == "postgresql" else in_memory_database
    async with database(METADATA) as engine:
        yield engine


def tally(n: int, value: int, notes: object = None) -> dict[str, object]:
    return {
        "user": f"u{n % 3}",
        "thing": uuid.UUID(int=n),
        "day": date(2026, 3, 1) + timedelta(days=n % 2),
        "value": value,
        "seen_at": SEEN_AT + timedelta(hours=n),
        "notes": notes,
    }


async def test_rows_go_in_as_given_and_upsert_on_conflict(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session, session.begin():
        statement, parameters = insert_rows(session, TALLIES, [tally(n, n, [["k", str(n)]]) for n in range(50)])
        await session.execute(statement, parameters)
        statement, parameters = insert_rows(session, TALLIES, [tally(n, 100) for n in range(40, 60)])
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[TALLIES.c.user, TALLIES.c.thing, TALLIES.c.day],
                set_={"value": TALLIES.c.value + statement.excluded.value},
            ),
            parameters,
        )
        rows = {row.thing.int: row for row in await session.execute(select(TALLIES))}
    assert sorted(rows) == list(range(60))
    assert [rows[n].value for n in (0, 39, 40, 49, 50, 59)] == [0, 39, 140, 149, 100, 100]
    assert rows[7].notes == [["k", "7"]] and rows[7].seen_at == SEEN_AT + timedelta(hours=7)
    assert {row.version for row in rows.values()} == {1}  # a column's Python default, for every row


async def test_naive_timestamps_are_refused_as_in_an_executemany(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session, session.begin():
        with pytest.raises(Exception, match="naive datetime"):  # on PostgreSQL as the arrays are made
            statement, parameters = insert_rows(session, TALLIES, [tally(1, 1) | {"seen_at": datetime(2026, 3, 1)}])
            await session.execute(statement, parameters)


async def test_a_python_default_function_must_be_given_a_value(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session, session.begin():
        # INSERT ... SELECT would call it once on PostgreSQL, every row getting the same id; refused on
        # SQLite too, so that it fails where it is developed.
        with pytest.raises(ValueError, match="numbered"):
            insert_rows(session, NUMBERED, [{"name": "a"}, {"name": "b"}])
        statement, parameters = insert_rows(session, NUMBERED, [{"id": uuid.uuid4(), "name": n} for n in "ab"])
        await session.execute(statement, parameters)


async def test_one_of_keys_finds_the_rows_with_those_keys(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session, session.begin():
        statement, parameters = insert_rows(session, TALLIES, [tally(n, n) for n in range(30)])
        await session.execute(statement, parameters)
        wanted = [(r["user"], r["thing"], r["day"]) for r in (tally(n, 0) for n in (3, 17, 29))]
        missing = ("u0", uuid.UUID(int=99), date(2026, 3, 1))
        columns = (TALLIES.c.user, TALLIES.c.thing, TALLIES.c.day)
        found = await session.scalars(select(TALLIES.c.value).where(one_of_keys(session, columns, [*wanted, missing])))
        assert sorted(found) == [3, 17, 29]


async def test_ids_are_drawn_in_the_rows_order_in_batches_of_any_size(engine: AsyncEngine) -> None:
    names = [f"n{n:05}" for n in reversed(range(25_000))]  # more than one statement's worth
    async with AsyncSession(engine) as session, session.begin():
        statement, parameters = insert_rows(session, SEQUENCED, [{"name": name} for name in names])
        await session.execute(statement, parameters)
        stored = await session.scalars(select(SEQUENCED.c.name).order_by(SEQUENCED.c.id))
        assert list(stored) == names


async def test_update_rows_sets_each_rows_values_by_its_key(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session, session.begin():
        statement, parameters = insert_rows(session, SEQUENCED, [{"id": n, "name": f"n{n}"} for n in range(1, 6)])
        await session.execute(statement, parameters)
        await update_rows(session, SEQUENCED, [{"id": 4, "name": "four"}, {"id": 2, "name": "two"}], key="id")
        stored = await session.execute(select(SEQUENCED.c.id, SEQUENCED.c.name).order_by(SEQUENCED.c.id))
        assert [tuple(row) for row in stored] == [(1, "n1"), (2, "two"), (3, "n3"), (4, "four"), (5, "n5")]


async def test_update_rows_takes_values_as_an_executemany_would(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session, session.begin():
        statement, parameters = insert_rows(session, TALLIES, [tally(1, 1)])
        await session.execute(statement, parameters)
        # A reserved word for a key (quoted), JSON lists kept as JSON, an aware time kept to the microsecond.
        later = SEEN_AT + timedelta(microseconds=7)
        await update_rows(session, TALLIES, [{"user": "u1", "notes": [[1, 2]], "seen_at": later}], key="user")
        row = (await session.execute(select(TALLIES))).one()
        assert (row.notes, row.seen_at) == ([[1, 2]], later)
        with pytest.raises(Exception, match="naive datetime"):
            await update_rows(session, TALLIES, [{"user": "u1", "seen_at": datetime(2026, 3, 1)}], key="user")


async def test_update_rows_refuses_a_row_given_twice(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session, session.begin():
        with pytest.raises(ValueError, match="given twice"):
            await update_rows(session, SEQUENCED, [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}], key="id")


async def test_insert_rows_refuses_a_row_given_twice_and_array_columns(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session, session.begin():
        with pytest.raises(ValueError, match="given twice"):  # ON CONFLICT would fail on PostgreSQL alone
            insert_rows(session, SEQUENCED, [{"id": 1, "name": "a"}, {"id": 1, "name": "b"}])
        if engine.dialect.name == "postgresql":
            with pytest.raises(ValueError, match="flattened"):
                insert_rows(session, LISTED, [{"id": 1, "tags": ["a", "b"]}])
