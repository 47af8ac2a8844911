"""What a service's unit tests need and nothing that starts a process, a broker or a database server: an
embedded database with the service's tables, its routes in process, the events a session staged, a free
port, and waiting for a condition instead of sleeping. Imported by tests only (`qunyun-shared[testing]`)."""

import asyncio
import inspect
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Any, TypeVar

import httpx
import pytest_asyncio
from fastapi import APIRouter, FastAPI
from sqlalchemy import MetaData, event, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from qunyun_shared import identity, problems
from qunyun_shared.db import create_engine
from qunyun_shared.dependencies import current_identity, get_outbox, transaction
from qunyun_shared.events.kafka_binding import from_kafka
from qunyun_shared.outbox import Outbox

T = TypeVar("T")


async def eventually(check: Callable[[], Awaitable[T]], *, timeout: float = 30.0, interval: float = 0.1) -> T:
    """Polls `check` until it returns without raising AssertionError, or fails with its last error."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(interval)


async def wait_until(
    condition: Callable[[], bool | Awaitable[bool]], *, timeout: float = 10.0, interval: float = 0.01, what: str = ""
) -> None:
    """Polls `condition` (a plain or async predicate) until it holds; fails saying `what` did not happen."""
    deadline = time.monotonic() + timeout
    while True:
        held = condition()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what or condition}")
        await asyncio.sleep(interval)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now: for a server a test starts, or one it knows is absent."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def in_memory_database(metadata: MetaData) -> AsyncIterator[AsyncEngine]:
    """An embedded SQLite database with a service's tables, for unit tests of its use cases."""
    engine = create_engine("sqlite+aiosqlite://")
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    try:
        yield engine
    finally:
        await engine.dispose()


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The statements sent on `engine` meanwhile (an executemany counts once)."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(args[2])

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


def in_memory_session_fixture(metadata: MetaData) -> Any:
    """A pytest fixture `session`: an AsyncSession on an embedded database with `metadata`'s tables."""

    @pytest_asyncio.fixture
    async def session() -> AsyncIterator[AsyncSession]:
        async with in_memory_database(metadata) as engine, AsyncSession(engine) as session:
            yield session

    return session


@asynccontextmanager
async def routes_client(
    session: AsyncSession,
    routers: Sequence[APIRouter],
    caller: Callable[[], identity.Identity],
    outbox: Outbox | None = None,
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a service's routers in process, on the test's session: every request runs in that
    session (so the test sees its writes), for the identity `caller` returns at the time of the request."""

    async def same_session() -> AsyncIterator[AsyncSession]:
        yield session

    async def current_caller() -> identity.Identity:
        return caller()

    async def the_outbox() -> Outbox:
        assert outbox is not None, "these routes write events: pass the outbox"
        return outbox

    app = FastAPI()
    problems.install(app)
    for router in routers:
        app.include_router(router)
    app.dependency_overrides.update(
        {transaction: same_session, current_identity: current_caller, get_outbox: the_outbox}
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


async def staged_events(session: AsyncSession, outbox_table: Any) -> list[tuple[str, Any]]:
    """The (type, payload) of the events a session has put in its outbox, in order."""
    rows = (await session.execute(select(outbox_table).order_by(outbox_table.c.id))).all()
    events = [from_kafka(row.value, [(name, value.encode()) for name, value in row.headers]) for row in rows]
    return [(event.type, event.data) for event in events]
