"""The consumer against real PostgreSQL and Kafka when things fail: a dependency's failure is waited out,
an event's own failure parks it, parked events can be replayed, and the relay never publishes a row before
a lower one still being written."""

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import asyncpg
import pytest
import pytest_asyncio
from prometheus_client import REGISTRY
from sqlalchemy import Column, Integer, String, Table, func, insert, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from qunyun_shared.db import new_metadata
from qunyun_shared.deadletters import Selection, list_dead_letters
from qunyun_shared.events import Envelope
from qunyun_shared.events.member import MemberJoinedV1
from qunyun_shared.inbox import EventConsumer, Handler
from qunyun_shared.messaging import messaging_tables
from qunyun_shared.outbox import Outbox, OutboxRelay
from qunyun_shared.supervision import BackgroundHealth
from qunyun_shared.testing import eventually
from tests.support.harness import KAFKA_BOOTSTRAP, read_topic, scratch_database

pytestmark = pytest.mark.integration

METADATA = new_metadata()
TABLES = messaging_tables(METADATA)
SEEN = Table(
    "seen",
    METADATA,
    Column("n", Integer, primary_key=True, autoincrement=True),
    Column("event_id", String(36)),
    Column("member_id", String(36)),
)


@pytest_asyncio.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    async with scratch_database(METADATA) as engine:
        yield engine


def joined(member_id: uuid.UUID) -> MemberJoinedV1:
    return MemberJoinedV1(member_id=member_id, community_id=uuid.uuid4(), channel="qr", joined_at=datetime.now(UTC))


async def stage(engine: AsyncEngine, outbox: Outbox, *members: uuid.UUID) -> list[Envelope]:
    async with AsyncSession(engine) as session, session.begin():
        return await outbox.add(session, tenant_id="t", payloads=[joined(m) for m in members])


def too_many_connections() -> DBAPIError:
    """What SQLAlchemy raises when PostgreSQL refuses a connection for want of slots."""
    refused = asyncpg.TooManyConnectionsError("sorry, too many clients already")
    error = DBAPIError("connect", {}, refused)
    error.__cause__ = refused
    return error


class Pipeline:
    """A relay and a consumer of member.joined, running until stopped."""

    def __init__(self, engine: AsyncEngine, prefix: str, handler: Handler, health: BackgroundHealth) -> None:
        self.name = f"it-{prefix}"
        self.outbox = Outbox(table=TABLES.outbox, source="it", topic_prefix=prefix)
        consumer = EventConsumer(
            name=self.name,
            engine=engine,
            inbox=TABLES.inbox,
            handlers={"member.joined": handler},
            bootstrap_servers=KAFKA_BOOTSTRAP,
            topic_prefix=prefix,
            outbox=self.outbox,
            health=health,
            max_attempts=2,
            retry_cap_seconds=0.2,
        )
        relay = OutboxRelay(engine=engine, outbox=self.outbox, bootstrap_servers=KAFKA_BOOTSTRAP, client_id="it")
        self.tasks = [asyncio.create_task(loop.run()) for loop in (relay, consumer)]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


async def outcomes(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as connection:
        rows = await connection.execute(select(TABLES.inbox.c.event_id, TABLES.inbox.c.outcome))
        return {event_id: outcome for event_id, outcome in rows}


async def seen(engine: AsyncEngine) -> list[str]:
    async with engine.connect() as connection:
        return list((await connection.execute(select(SEEN.c.event_id).order_by(SEEN.c.n))).scalars())


def stalls() -> float:
    return REGISTRY.get_sample_value("qunyun_background_stalls_total", {"loop": "consumer"}) or 0.0


async def test_a_database_refusing_connections_is_waited_out_and_nothing_is_dead_lettered(
    engine: AsyncEngine, prefix: str
) -> None:
    refusals = 6  # more than the consumer's attempts at an event that fails by its own fault
    health = BackgroundHealth()
    stalled_while_refusing: list[dict[str, str]] = []

    async def remember(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
        nonlocal refusals
        if refusals:
            refusals -= 1
            stalled_while_refusing.append(health.checks())
            raise too_many_connections()
        await session.execute(insert(SEEN), [{"event_id": e.id, "member_id": e.subject} for e in events])

    before = stalls()
    pipeline = Pipeline(engine, prefix, remember, health)
    try:
        events = await stage(engine, pipeline.outbox, *(uuid.uuid4() for _ in range(5)))

        async def all_processed() -> None:
            assert await outcomes(engine) == {e.id: "processed" for e in events}

        await eventually(all_processed)
    finally:
        await pipeline.stop()
    assert sorted(await seen(engine)) == sorted(e.id for e in events)
    assert stalls() == before + 1
    assert stalled_while_refusing[-1]["consumer"].startswith("stalled: DBAPIError")
    assert health.checks() == {} and health.ready


async def test_a_parked_event_is_replayed_once_its_cause_is_fixed_and_handled_once(
    engine: AsyncEngine, prefix: str
) -> None:
    poison_member = uuid.uuid4()
    broken = {str(poison_member)}

    async def remember(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
        for event in events:
            if event.subject in broken:
                raise ValueError("this member breaks the handler")
            await session.execute(insert(SEEN).values(event_id=event.id, member_id=event.subject))

    pipeline = Pipeline(engine, prefix, remember, BackgroundHealth())
    try:
        good, poison, after = await stage(engine, pipeline.outbox, uuid.uuid4(), poison_member, uuid.uuid4())

        async def parked() -> None:
            assert await outcomes(engine) == {good.id: "processed", poison.id: "dead_lettered", after.id: "processed"}
            # The inbox row commits before the relay publishes the dead letter: wait for it as for the rest.
            letters = await list_dead_letters(KAFKA_BOOTSTRAP, prefix, Selection(consumer=pipeline.name))
            assert len(letters) == 1, letters
            [letter] = letters
            assert (letter.event_id, letter.event_type) == (poison.id, "member.joined")
            assert letter.error == "ValueError: this member breaks the handler"

        await eventually(parked)
        assert set(await seen(engine)) == {good.id, after.id}

        broken.clear()  # the cause is fixed
        assert await replay_command(prefix, "--consumer", pipeline.name) == 1

        async def handled() -> None:
            assert (await outcomes(engine))[poison.id] == "processed"

        await eventually(handled)
        # Replayed again, and followed on the poison member's partition by a fresh event: once that is
        # handled, so was the second replay, and the inbox dropped it.
        assert await replay_command(prefix, "--consumer", pipeline.name) == 1
        [witness] = await stage(engine, pipeline.outbox, poison_member)

        async def witness_handled() -> None:
            assert witness.id in await seen(engine)

        await eventually(witness_handled)
    finally:
        await pipeline.stop()
    assert (await seen(engine)).count(poison.id) == 1


async def replay_command(prefix: str, *selection: str) -> int:
    """Runs `python -m qunyun_shared.deadletters replay --all` as an operator would; how many it replayed."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "qunyun_shared.deadletters",
        "--bootstrap",
        KAFKA_BOOTSTRAP,
        "--prefix",
        prefix,
        "replay",
        "--all",
        *selection,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    return int(err.decode().strip().rsplit(" ", 1)[1])


async def test_a_row_committed_while_a_lower_one_is_still_being_written_waits_for_it(
    engine: AsyncEngine, prefix: str
) -> None:
    outbox = Outbox(table=TABLES.outbox, source="it", topic_prefix=prefix)
    relay = OutboxRelay(engine=engine, outbox=outbox, bootstrap_servers=KAFKA_BOOTSTRAP, client_id="it")
    member = uuid.uuid4()
    async with AsyncSession(engine) as first:
        await first.begin()
        [early] = await outbox.add(first, tenant_id="t", payloads=[joined(member)])  # the lower id, not committed
        [late] = await stage(engine, outbox, member)  # a higher id, committed first
        assert await relay.publish_batch() == 0  # publishing `late` now would put it before `early`
        await first.commit()
    task = asyncio.create_task(relay.run())
    try:
        records = await read_topic(KAFKA_BOOTSTRAP, f"{prefix}.member", until=lambda rs: len(rs) >= 2)

        async def outbox_emptied() -> None:
            async with engine.connect() as connection:
                assert await connection.scalar(select(func.count()).select_from(TABLES.outbox)) == 0

        await eventually(outbox_emptied)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert [dict(r.headers)["ce_id"].decode() for r in records] == [early.id, late.id]
