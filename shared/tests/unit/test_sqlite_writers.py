"""SQLite's writers in one process take turns first come first served, so a writer starting transaction after
transaction (a consumer with a backlog) cannot starve a request's write; a consumer on SQLite keeps each of
its transactions short; and a write that still finds the database locked past the busy timeout is answered 503
with Retry-After, never 500."""

import asyncio
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

import httpx
import pytest
import pytest_asyncio
from aiokafka import ConsumerRecord
from fastapi import FastAPI
from sqlalchemy import Column, Integer, MetaData, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from qunyun_shared import db, problems
from qunyun_shared.db import create_engine, new_metadata
from qunyun_shared.events import Envelope, new_event
from qunyun_shared.events.kafka_binding import to_kafka
from qunyun_shared.events.member import MemberLeftV1
from qunyun_shared.inbox import POLL_RECORDS, EventConsumer, Handler
from qunyun_shared.messaging import messaging_tables
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_database

pytestmark = pytest.mark.unit

METADATA = MetaData()
NOTES = Table("notes", METADATA, Column("n", Integer, primary_key=True, autoincrement=True), Column("by", Integer))
BUSY, CONSUMER = 0.3, 1
MESSAGING = new_metadata()
TABLES = messaging_tables(MESSAGING)


@pytest_asyncio.fixture
async def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[AsyncEngine]:
    monkeypatch.setattr(db, "SQLITE_BUSY_SECONDS", BUSY)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'service.db'}")
    async with engine.begin() as connection:
        await connection.run_sync(METADATA.create_all)
    yield engine
    await engine.dispose()


def notes_app(engine: AsyncEngine) -> FastAPI:
    """A service's live write: one transaction per request, errors as problems."""
    app = FastAPI()
    problems.install(app)

    @app.post("/notes", status_code=201)
    async def write() -> None:
        async with engine.begin() as connection:
            await connection.execute(insert(NOTES).values(by=2))

    return app


async def post_note(engine: AsyncEngine) -> httpx.Response:
    transport = httpx.ASGITransport(app=notes_app(engine), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://service") as client:
        return await client.post("/notes")


async def test_back_to_back_write_transactions_do_not_starve_a_request_waiting_its_turn(engine: AsyncEngine) -> None:
    held, stop = 0.06, asyncio.Event()

    async def consumer() -> None:
        """Transaction after transaction, each holding the write lock `held` seconds, no pause between."""
        while not stop.is_set():
            async with engine.begin() as connection:
                await connection.execute(insert(NOTES).values(by=CONSUMER))
                await asyncio.sleep(held)

    busy = asyncio.create_task(consumer())
    try:
        waits = []
        for _ in range(12):
            await asyncio.sleep(0.013)
            started = time.monotonic()
            response = await post_note(engine)
            waits.append(time.monotonic() - started)
            assert response.status_code == 201, response.text
    finally:
        stop.set()
        await busy
    # Each waits at most for the transaction ahead of it; SQLite's own polling left such a request waiting
    # seconds, and past the busy timeout (0.3 s here) failing.
    assert max(waits) < held + 0.1, waits


async def test_a_write_finding_the_database_locked_past_the_busy_timeout_is_a_503_with_retry_after(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    # Another process's writer (the busy timeout's part) ...
    other_process = sqlite3.connect(tmp_path / "service.db", isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")
    try:
        response = await post_note(engine)
    finally:
        other_process.execute("ROLLBACK")
        other_process.close()
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "1"
    assert response.json()["type"] == "https://qunyun.dev/problems/temporarily-unavailable"
    # ... and a transaction of this process holding its turn too long (the turns' part).
    async with engine.begin() as connection:
        await connection.execute(insert(NOTES).values(by=CONSUMER))
        response = await post_note(engine)
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert (await post_note(engine)).status_code == 201  # and once the writer is done, writes go through


def delivered(count: int) -> list[ConsumerRecord]:
    records = []
    for offset in range(count):
        left = MemberLeftV1(member_id=uuid.uuid4(), community_id=uuid.uuid4(), reason="left", left_at=datetime.now(UTC))
        encoded = to_kafka(new_event(source="member-svc", tenant_id="t", payload=left))
        fields = {"topic": "p.member", "partition": 0, "offset": offset, "key": encoded.key, "value": encoded.value}
        records.append(cast(ConsumerRecord, type("Record", (), fields | {"headers": encoded.headers})()))
    return records


def consumer_on(engine: AsyncEngine, handler: Handler) -> EventConsumer:
    return EventConsumer(
        name="c",
        engine=engine,
        inbox=TABLES.inbox,
        handlers={"member.left": handler},
        bootstrap_servers="unused:9092",
        topic_prefix="p",
        outbox=Outbox(table=TABLES.outbox, source="c", topic_prefix="p"),
    )


async def test_a_consumer_on_sqlite_takes_a_poll_in_short_transactions_and_on_postgresql_whole() -> None:
    runs: list[int] = []

    async def count(_session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
        runs.append(len(events))

    async with in_memory_database(MESSAGING) as engine:
        await consumer_on(engine, count).handle_records(delivered(450))
        async with engine.connect() as connection:
            processed = await connection.scalar(select(func.count()).select_from(TABLES.inbox))
    assert runs == [200, 200, 50] and processed == 450
    postgresql = create_engine("postgresql+asyncpg://qunyun@127.0.0.1/none")  # never connected
    assert consumer_on(postgresql, count).batch_size == POLL_RECORDS == 5000
    await postgresql.dispose()
