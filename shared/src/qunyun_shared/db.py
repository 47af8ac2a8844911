"""Database plumbing: naming conventions, engines for PostgreSQL and SQLite, sessions."""

import asyncio
import functools
import operator
import weakref
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pydantic_core
from sqlalchemy import (
    ColumnElement,
    DateTime,
    MetaData,
    Table,
    TextClause,
    any_,
    bindparam,
    event,
    func,
    literal_column,
    select,
    text,
    tuple_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import ARRAY, TypeDecorator, TypeEngine
from sqlalchemy.util import await_only

# Deterministic constraint names keep Alembic migrations identical on every database.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def new_metadata() -> MetaData:
    """A MetaData for one service's tables, with the platform's naming convention."""
    return MetaData(naming_convention=NAMING_CONVENTION)


# JSON columns (outbox headers, settings, answers) through pydantic-core: the same JSON as the json module
# gives, at a fraction of its cost, which a consumer batch staging thousands of events pays per row.
_JSON_CODEC: dict[str, Any] = {
    "json_serializer": lambda value: pydantic_core.to_json(value).decode(),
    "json_deserializer": pydantic_core.from_json,
}


def create_engine(url: str, *, pool_size: int = 20, server_settings: Mapping[str, str] | None = None) -> AsyncEngine:
    """An async engine; SQLite gets WAL, a busy timeout and writers taking turns (see _WriteTurns) so the
    relay, the consumer and requests can share it. `server_settings` are PostgreSQL settings for this
    engine's connections (ignored on SQLite)."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, hide_parameters=True, **_JSON_CODEC)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        _WriteTurns.of(engine).install(engine)
        return engine
    # No pre-ping: it costs a round trip on every checkout. A connection broken by a database restart
    # fails its next use once and is then replaced; consumers retry such failures, clients get a 503.
    # hide_parameters: a logged database error must not carry the personal data it was writing.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        hide_parameters=True,
        connect_args={"server_settings": _PLANNED_EACH_TIME | dict(server_settings or {})},
        **_JSON_CODEC,
    )


# Statements are prepared once per connection, but planned for the values of each execution. A generic plan,
# which PostgreSQL settles on after five executions, is costed with the table as it was then: the inbox
# look-up of a consumer's first batches, planned on a near-empty table, kept scanning it whole and matching
# every row against the batch's array, a cost growing with the table (a quarter of a second per batch at
# 20,000 rows). Planning each time costs tens of microseconds.
_PLANNED_EACH_TIME = {"plan_cache_mode": "force_custom_plan"}


SQLITE_BUSY_SECONDS = 10.0
"""How long a write on SQLite waits for the database's one write lock before it fails as busy."""


def _sqlite_pragmas(dbapi_connection: object, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


class DatabaseBusy(TimeoutError):
    """A write waited its turn at SQLite's write lock longer than SQLITE_BUSY_SECONDS: a dependency's failure
    (qunyun_shared.failures), waited out by consumers and answered 503 to requests."""


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_TURN = "qunyun_write_turn"  # in a pooled connection's info: the turn it holds


class _WriteTurns:
    """The writers of one SQLite database in this process, taking turns first come first served.

    SQLite has one write lock per database, and a writer that finds it taken polls for it (the busy
    handler) with sleeps of up to 100 ms: a writer that starts transaction after transaction (a consumer
    working through a backlog) takes it again each time before a waiting request polls, and the request
    fails after the busy timeout however short each transaction is. So a transaction takes its turn here at
    its first write, where pysqlite begins it, and gives it back when its connection returns to the pool
    (after its commit or rollback): a request waits for the transactions ahead of it, never for ones that
    came after. Reads take no turn (WAL lets them go on beside the writer)."""

    _of_database: "weakref.WeakValueDictionary[str, _WriteTurns]" = weakref.WeakValueDictionary()

    def __init__(self) -> None:
        self._lock: asyncio.Lock | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def of(cls, engine: AsyncEngine) -> "_WriteTurns":
        """The turns of the engine's database file, shared by every engine on it (one of its own in memory)."""
        database = engine.url.database
        if not database or database == ":memory:":
            return cls()
        turns = cls._of_database.get(database)
        if turns is None:
            turns = cls._of_database[database] = cls()
        return turns

    def install(self, engine: AsyncEngine) -> None:
        event.listen(engine.sync_engine, "before_cursor_execute", self._before_execute)
        event.listen(engine.sync_engine.pool, "checkin", self._checked_in)

    def _before_execute(self, connection: Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if _TURN in connection.info or not statement.lstrip()[:7].upper().startswith(_WRITES):
            return
        lock = self._lock_of_running_loop()
        try:
            await_only(asyncio.wait_for(lock.acquire(), SQLITE_BUSY_SECONDS))
        except TimeoutError:
            raise DatabaseBusy(f"database is locked: no turn to write within {SQLITE_BUSY_SECONDS:g} s") from None
        connection.info[_TURN] = lock

    def _checked_in(self, _dbapi_connection: object, record: ConnectionPoolEntry) -> None:
        lock = record.info.pop(_TURN, None)
        if lock is not None:
            lock.release()

    def _lock_of_running_loop(self) -> asyncio.Lock:
        # A lock waits on one event loop; a process that runs another (a script's second asyncio.run) gets a
        # new one, which no writer of the old loop can still be holding.
        loop = asyncio.get_running_loop()
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop = asyncio.Lock(), loop
        return self._lock


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def one_of(
    bind: AsyncSession | AsyncConnection,
    column: ColumnElement[Any] | InstrumentedAttribute[Any],
    values: Collection[Any],
) -> ColumnElement[bool]:
    """`column IN values` for a batch of any size. On PostgreSQL it is `= ANY(<array>)`: one statement
    whatever the count, where an IN list is a new statement (compiled and prepared anew) for each length."""
    if _dialect_of(bind).name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=_array_of(column.type)))
    return column.in_(values)


def one_of_keys(
    bind: AsyncSession | AsyncConnection, columns: Sequence[ColumnElement[Any]], keys: Collection[Sequence[Any]]
) -> ColumnElement[bool]:
    """`(columns) IN keys`, keys being tuples of the columns' values, for a batch of any size. On PostgreSQL
    the keys are column arrays unnested: one statement whatever the count, where an IN list of tuples
    binds every value of every key and is a new statement for each length."""
    if _dialect_of(bind).name != "postgresql":
        return tuple_(*columns).in_(keys)
    arrays = [
        bindparam(None, [key[i] for key in keys], type_=_array_of(column.type)) for i, column in enumerate(columns)
    ]
    given = func.unnest(*arrays).table_valued(*(f"k{i}" for i in range(len(columns)))).render_derived()
    return tuple_(*columns).in_(select(*given.c))


def _dialect_of(bind: AsyncSession | AsyncConnection) -> Dialect:
    return bind.get_bind().dialect if isinstance(bind, AsyncSession) else bind.dialect


@functools.lru_cache(maxsize=256)
def _array_of(item: TypeEngine[Any]) -> postgresql.ARRAY[Any]:
    return postgresql.ARRAY(item)


async def update_rows(session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]], *, key: str) -> None:
    """Updates the rows of `table` whose `key` column is each row's to the row's other values (every row
    giving the same columns, each key once). On PostgreSQL that is one statement whose parameters are
    column arrays (see _ColumnArrays); other databases (SQLite) get the executemany."""
    if not rows:
        return
    if len({row[key] for row in rows}) < len(rows):
        raise ValueError(f"{table.name}: a row to update is given twice")
    names, dialect = tuple(rows[0]), session.get_bind().dialect
    if dialect.name == "postgresql":
        arrays = _ColumnArrays.of(dialect, table, names)
        await session.execute(_update_from(arrays, dialect, table, names, key), arrays.parameters(rows))
        return
    changed = [n for n in names if n != key]
    await session.execute(
        update(table).where(table.c[key] == bindparam("row_key")).values({n: bindparam(n) for n in changed}),
        [{"row_key": row[key], **{n: row[n] for n in changed}} for row in rows],
    )


_ROWS_PER_INSERT = 10_000


def insert_rows(session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]) -> tuple[Any, Any]:
    """An INSERT of `rows` (at least one, every row giving the same columns) into `table`, to which ON
    CONFLICT clauses can be added (see upsert), and the parameters to execute it with. On PostgreSQL the
    rows are column arrays (see _ColumnArrays) inserted in the rows' order, the order their rows are locked
    in and ids drawn in; other databases (SQLite) get the executemany."""
    names, dialect = tuple(rows[0]), session.get_bind().dialect
    # Both refused on every database, so that what PostgreSQL would refuse fails on SQLite too.
    _refuse_unsupplied_default_functions(table, names)
    key = [c.name for c in table.primary_key.columns]
    if set(key) <= set(names) and len(set(map(operator.itemgetter(*key), rows))) < len(rows):
        raise ValueError(f"{table.name}: a row to insert is given twice")  # ON CONFLICT would fail on PostgreSQL
    if dialect.name != "postgresql":
        return upsert(session, table), rows
    arrays = _ColumnArrays.of(dialect, table, names)
    # Past a size the server's sort of the positions spills to disk: larger batches go as several
    # statements, executed in turn (an executemany).
    chunks = [arrays.parameters(rows[i : i + _ROWS_PER_INSERT]) for i in range(0, len(rows), _ROWS_PER_INSERT)]
    return _insert_from(arrays, table, names), chunks[0] if len(chunks) == 1 else chunks


@functools.lru_cache(maxsize=64)
def _update_from(
    arrays: "_ColumnArrays", dialect: Dialect, table: Table, names: tuple[str, ...], key: str
) -> TextClause:
    target, given = dialect.identifier_preparer.format_table(table), dict(zip(names, arrays.names, strict=True))
    changes = ", ".join(f"{given[n]} = given.{given[n]}" for n in names if n != key)
    return text(f"UPDATE {target} SET {changes} FROM {arrays.unnest} WHERE {target}.{given[key]} = given.{given[key]}")


@functools.lru_cache(maxsize=64)
def _refuse_unsupplied_default_functions(table: Table, names: tuple[str, ...]) -> None:
    # INSERT ... SELECT calls a Python default function once for the whole statement, not once per row.
    if any(c.default is not None and c.default.is_callable for c in table.columns if c.name not in names):
        raise ValueError(f"{table.name}: every column with a Python default function needs a value")


@functools.lru_cache(maxsize=64)
def _insert_from(arrays: "_ColumnArrays", table: Table, names: tuple[str, ...]) -> postgresql.Insert:
    columns: list[ColumnElement[Any]] = [literal_column(f"given.{name}") for name in arrays.names]
    # Ordered by position so that ids from a sequence follow the rows' order (the outbox's delivery order).
    rows_in_order = select(*columns).select_from(text(arrays.unnest)).order_by(literal_column("given.given_position"))
    return postgresql.insert(table).from_select(names, rows_in_order)


@dataclass(frozen=True)
class _ColumnArrays:
    """A batch of rows as one array per column, `unnest`ed by PostgreSQL into a relation named `given`
    (with each row's position): one statement whatever the count, its arrays encoded in binary by the
    driver, where an executemany would have SQLAlchemy bind every value of every row in Python.

    The values go through their columns' bind processors first, as an executemany would take them: a
    typed ARRAY alone would take a JSON column's lists for arrays and let naive datetimes through."""

    unnest: str
    names: tuple[str, ...]  # quoted
    binders: tuple[tuple[str, Callable[[Any], Any] | None], ...]

    @staticmethod
    @functools.lru_cache(maxsize=64)
    def of(dialect: Dialect, table: Table, names: tuple[str, ...]) -> "_ColumnArrays":
        if arrays_given := [n for n in names if isinstance(table.c[n].type, ARRAY)]:
            raise ValueError(f"{table.name}: array columns {arrays_given} would be flattened by unnest")
        quoted = tuple(dialect.identifier_preparer.quote(n) for n in names)
        arrays = ", ".join(f"CAST(:{n} AS {_array_of(table.c[n].type).compile(dialect=dialect)})" for n in names)
        return _ColumnArrays(
            unnest=f"unnest({arrays}) WITH ORDINALITY AS given({', '.join(quoted)}, given_position)",
            names=quoted,
            binders=tuple((n, table.c[n].type.dialect_impl(dialect).bind_processor(dialect)) for n in names),
        )

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
        arrays = {}
        for name, bind in self.binders:
            values = list(map(operator.itemgetter(name), rows))
            arrays[name] = values if bind is None else list(map(bind, values))
        return arrays


def upsert(session: AsyncSession, table: Any) -> Any:
    """An INSERT supporting ON CONFLICT for the session's dialect (PostgreSQL or SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp stored and returned as timezone-aware UTC, on SQLite too (which drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is UTC:
            return value
        if value.tzinfo is None:
            raise ValueError("naive datetime: store timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value
