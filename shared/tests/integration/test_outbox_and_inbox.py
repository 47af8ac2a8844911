"""The outbox relay and the idempotent consumer against real PostgreSQL and Kafka."""

import asyncio
import gc
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import Column, String, Table, func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from qunyun_shared import metrics
from qunyun_shared.db import new_metadata
from qunyun_shared.events import Envelope
from qunyun_shared.events.member import MemberJoinedV1
from qunyun_shared.inbox import SKIPPED_IMPORTED, EventConsumer, Handler, news_only
from qunyun_shared.messaging import messaging_tables
from qunyun_shared.outbox import Outbox, OutboxRelay
from qunyun_shared.testing import eventually, wait_until
from tests.support.harness import KAFKA_BOOTSTRAP, read_topic, scratch_database

pytestmark = pytest.mark.integration

METADATA = new_metadata()
TABLES = messaging_tables(METADATA)
SEEN = Table("seen", METADATA, Column("event_id", String(36), primary_key=True), Column("member_id", String(36)))


@pytest_asyncio.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    async with scratch_database(METADATA) as engine:
        yield engine


def joined(member_id: uuid.UUID | None = None) -> MemberJoinedV1:
    return MemberJoinedV1(
        member_id=member_id or uuid.uuid4(), community_id=uuid.uuid4(), channel="qr", joined_at=datetime.now(UTC)
    )


async def start_pipeline(
    engine: AsyncEngine, outbox: Outbox, handler: Handler, **options: int
) -> list[asyncio.Task[None]]:
    """The relay publishing `outbox` and a consumer handing its member.joined events to `handler`, running."""
    relay = OutboxRelay(engine=engine, outbox=outbox, bootstrap_servers=KAFKA_BOOTSTRAP, client_id="it")
    return await run_in_background(relay, a_consumer(engine, outbox, handler, **options))


def a_consumer(engine: AsyncEngine, outbox: Outbox, handler: Handler, **options: int) -> EventConsumer:
    """A consumer of the member.joined events `outbox` publishes, handing them to `handler`."""
    return EventConsumer(
        name=f"it-{outbox.topic_prefix}",
        engine=engine,
        inbox=TABLES.inbox,
        handlers={"member.joined": handler},
        bootstrap_servers=KAFKA_BOOTSTRAP,
        topic_prefix=outbox.topic_prefix,
        outbox=outbox,
        **options,
    )


async def run_in_background(*loops: object) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(loop.run()) for loop in loops]  # type: ignore[attr-defined]


async def stop(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def count(engine: AsyncEngine, table: Table) -> int:
    async with engine.connect() as connection:
        return int((await connection.execute(select(func.count()).select_from(table))).scalar_one())


async def test_events_of_a_rolled_back_transaction_are_never_published(engine: AsyncEngine, prefix: str) -> None:
    outbox = Outbox(table=TABLES.outbox, source="it", topic_prefix=prefix)
    with pytest.raises(RuntimeError):
        async with AsyncSession(engine) as session, session.begin():
            await outbox.add(session, tenant_id="t", payloads=[joined()])
            raise RuntimeError("the state change failed")
    assert await count(engine, TABLES.outbox) == 0


async def test_the_relay_publishes_everything_once_in_order_per_member(engine: AsyncEngine, prefix: str) -> None:
    outbox = Outbox(table=TABLES.outbox, source="it", topic_prefix=prefix)
    members = [uuid.uuid4() for _ in range(5)]
    written: dict[str, list[str]] = {str(m): [] for m in members}
    for batch in range(20):
        async with AsyncSession(engine) as session, session.begin():
            payloads = [joined(members[(batch + i) % 5]) for i in range(10)]
            for envelope in await outbox.add(session, tenant_id="t", payloads=payloads):
                written[envelope.subject].append(envelope.id)

    received: dict[str, list[str]] = {str(m): [] for m in members}

    async def record(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
        for event in events:
            received[event.subject].append(event.id)

    tasks = await start_pipeline(engine, outbox, record)
    try:

        async def all_received() -> None:
            assert received == written

        await eventually(all_received)

        async def outbox_emptied() -> None:  # the relay deletes a batch once Kafka has acknowledged it
            assert await count(engine, TABLES.outbox) == 0

        await eventually(outbox_emptied)
    finally:
        await stop(tasks)


async def test_batches_are_published_and_handled_with_the_cycle_collector_held_back(
    engine: AsyncEngine, prefix: str
) -> None:
    """qunyun_shared.collection: no collection rescans a batch's objects while it is under way."""
    outbox = Outbox(table=TABLES.outbox, source="it", topic_prefix=prefix)
    async with AsyncSession(engine) as session, session.begin():
        written = await outbox.add(session, tenant_id="t", payloads=[joined() for _ in range(3)])
    collecting_while: dict[str, list[bool]] = {"published": [], "handled": []}
    relay = OutboxRelay(engine=engine, outbox=outbox, bootstrap_servers=KAFKA_BOOTSTRAP, client_id="it")
    producer = await relay._ready_producer()
    send = producer.send

    async def watched_send(*args: Any, **kwargs: Any) -> Any:
        collecting_while["published"].append(gc.isenabled())
        return await send(*args, **kwargs)

    producer.send = watched_send  # type: ignore[method-assign]

    async def watched_handler(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
        collecting_while["handled"].extend(gc.isenabled() for _ in events)

    try:
        assert await relay.publish_batch() == len(written)
    finally:
        await relay._close_producer()
    tasks = await run_in_background(a_consumer(engine, outbox, watched_handler))
    try:

        async def all_handled() -> None:
            assert len(collecting_while["handled"]) == len(written)

        await eventually(all_handled)
    finally:
        await stop(tasks)
    assert collecting_while == {"published": [False] * 3, "handled": [False] * 3}
    assert gc.isenabled()


async def test_a_news_only_handler_is_never_given_imported_history(engine: AsyncEngine, prefix: str) -> None:
    outbox = Outbox(table=TABLES.outbox, source="it", topic_prefix=prefix)
    async with AsyncSession(engine) as session, session.begin():
        [history] = await outbox.add(session, tenant_id="t", payloads=[joined()], imported=True)
        [news] = await outbox.add(session, tenant_id="t", payloads=[joined()])
    handled: list[str] = []

    @news_only
    async def notify(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
        handled.extend(event.id for event in events)

    skipped = metrics.EVENTS_CONSUMED.labels(f"it-{prefix}", "member.joined", SKIPPED_IMPORTED)
    tasks = await start_pipeline(engine, outbox, notify)
    try:

        async def news_handled() -> None:
            assert handled == [news.id]

        await eventually(news_handled)
    finally:
        await stop(tasks)
    async with engine.connect() as connection:
        recorded = set((await connection.execute(select(TABLES.inbox.c.event_id))).scalars())
    assert recorded == {news.id}, "the imported one is passed over, not recorded"
    assert history.id not in handled and skipped._value.get() == 1


async def test_redelivered_events_are_handled_once_and_poison_is_dead_lettered(
    engine: AsyncEngine, prefix: str
) -> None:
    outbox = Outbox(table=TABLES.outbox, source="it", topic_prefix=prefix)
    poison_member = uuid.uuid4()
    async with AsyncSession(engine) as session, session.begin():
        first = await outbox.add(session, tenant_id="t", payloads=[joined(), joined(poison_member), joined()])
    # The same rows published again, as after a relay crash between sending and deleting.
    async with engine.begin() as connection:
        rows = (await connection.execute(select(TABLES.outbox))).mappings().all()
        await connection.execute(insert(TABLES.outbox), [{k: v for k, v in r.items() if k != "id"} for r in rows])

    async def remember(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
        for event in events:
            if event.subject == str(poison_member):
                raise ValueError("this member breaks the handler")
            await session.execute(insert(SEEN).values(event_id=event.id, member_id=event.subject))

    tasks = await start_pipeline(engine, outbox, remember, max_attempts=2)
    try:

        async def settled() -> None:
            async with engine.connect() as connection:
                seen = set((await connection.execute(select(SEEN.c.event_id))).scalars())
                outcomes = dict(
                    (await connection.execute(select(TABLES.inbox.c.event_id, TABLES.inbox.c.outcome))).all()
                )
            assert seen == {first[0].id, first[2].id}
            assert outcomes == {first[0].id: "processed", first[1].id: "dead_lettered", first[2].id: "processed"}

        await eventually(settled)
    finally:
        await stop(tasks)


async def test_a_newer_version_of_a_handled_event_is_parked_for_replay(engine: AsyncEngine, prefix: str) -> None:
    outbox = Outbox(table=TABLES.outbox, source="it", topic_prefix=prefix)
    async with AsyncSession(engine) as session, session.begin():
        [future, present] = await outbox.add(session, tenant_id="t", payloads=[joined(), joined()])
    # As if a newer producer had written the first one as v2.
    async with engine.begin() as connection:
        row = (await connection.execute(select(TABLES.outbox).where(TABLES.outbox.c.event_id == future.id))).one()
        headers = [[name, "2" if name == "ce_dataversion" else value] for name, value in row.headers]
        await connection.execute(TABLES.outbox.update().where(TABLES.outbox.c.id == row.id).values(headers=headers))

    handled: list[str] = []

    async def remember(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
        handled.extend(event.id for event in events)

    tasks = await start_pipeline(engine, outbox, remember)
    try:

        async def present_handled() -> None:
            assert handled == [present.id]

        await eventually(present_handled)
        parked = await read_topic(KAFKA_BOOTSTRAP, f"{prefix}.deadletter", until=lambda records: bool(records))
        assert [dict(r.headers)["ce_id"] for r in parked] == [future.id.encode()]
        assert dict(parked[0].headers)["dlq_error"].startswith(b"UnknownEvent: member.joined v2")
    finally:
        await stop(tasks)


async def test_a_commit_in_another_process_wakes_the_relay(engine: AsyncEngine, prefix: str) -> None:
    relay_outbox = Outbox(table=TABLES.outbox, source="it", topic_prefix=prefix)
    # A relay that would otherwise sleep 60 s between polls: only PostgreSQL's NOTIFY can wake it in time.
    relay = OutboxRelay(
        engine=engine, outbox=relay_outbox, bootstrap_servers=KAFKA_BOOTSTRAP, client_id="it", idle_poll_seconds=60
    )
    batches = 0
    publish_batch = relay.publish_batch

    async def counted_batch() -> int:
        nonlocal batches
        published = await publish_batch()
        batches += 1
        return published

    relay.publish_batch = counted_batch  # type: ignore[method-assign]
    tasks = await run_in_background(relay)
    try:
        # Its first batch found nothing: the relay holds the lock, listens, and idles until woken.
        await wait_until(lambda: batches >= 1, what="the relay's first batch")
        other_process_outbox = Outbox(table=TABLES.outbox, source="it", topic_prefix=prefix)
        async with AsyncSession(engine) as session, session.begin():
            [event] = await other_process_outbox.add(session, tenant_id="t", payloads=[joined()])
        records = await read_topic(KAFKA_BOOTSTRAP, f"{prefix}.member", until=lambda rs: bool(rs))
        assert dict(records[0].headers)["ce_id"] == event.id.encode()
    finally:
        await stop(tasks)
