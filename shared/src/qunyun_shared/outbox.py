"""Transactional outbox: events are rows written in the state change's own transaction,
published afterwards by a relay that survives Kafka outages without loss or reordering."""

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from sqlalchemy import Select, Table, delete, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from qunyun_shared import collection, metrics
from qunyun_shared.bus import new_producer
from qunyun_shared.db import insert_rows, one_of
from qunyun_shared.events import Envelope, EventPayload, new_event
from qunyun_shared.events.catalogue import spec_for
from qunyun_shared.events.kafka_binding import binary_mode
from qunyun_shared.supervision import BackgroundHealth, Backoff
from qunyun_shared.topics import topic_for

log = logging.getLogger(__name__)

_CHANNEL = "qunyun_outbox"
_LOOP = "outbox-relay"


class Outbox:
    """Writes a service's events into its outbox table, inside the caller's transaction."""

    def __init__(self, *, table: Table, source: str, topic_prefix: str) -> None:
        self.table = table
        self.source = source
        self.topic_prefix = topic_prefix
        self.wakeup = asyncio.Event()

    async def add(
        self, session: AsyncSession, *, tenant_id: str, payloads: Sequence[EventPayload], imported: bool = False
    ) -> list[Envelope]:
        """Stages events; they become visible to the relay only if the transaction commits. `imported`
        marks events announcing history a merchant brought in (Envelope.imported)."""
        envelopes = [new_event(source=self.source, tenant_id=tenant_id, payload=p, imported=imported) for p in payloads]
        if envelopes:
            await self._stage(session, [self._row(e) for e in envelopes])
        return envelopes

    async def add_message(
        self, session: AsyncSession, *, event_id: str, topic: str, key: bytes, value: bytes, headers: list[list[str]]
    ) -> None:
        """Stages a message as it is, not an event of this service: a dead letter, for one."""
        await self._stage(
            session, [{"event_id": event_id, "topic": topic, "key": key, "value": value, "headers": headers}]
        )

    async def _stage(self, session: AsyncSession, rows: list[dict[str, Any]]) -> None:
        statement, parameters = insert_rows(session, self.table, rows)
        await session.execute(statement, parameters)
        if not session.info.get("outbox_written") and session.get_bind().dialect.name == "postgresql":
            # Delivered at commit, to whichever process of whichever replica runs the relay.
            await session.execute(text(f"NOTIFY {_CHANNEL}"))
        session.info["outbox_written"] = True

    def committed(self) -> None:
        """Tells the relay that new rows are there, so it need not wait for its next poll."""
        self.wakeup.set()

    def _row(self, envelope: Envelope) -> dict[str, Any]:
        key, value, headers = binary_mode(envelope)
        topic = topic_for(self.topic_prefix, spec_for(type(envelope.data)))
        return {"event_id": envelope.id, "topic": topic, "key": key, "value": value, "headers": headers}


class OutboxRelay:
    """Publishes outbox rows with an idempotent producer, then deletes them.

    Rows go out in the order of the transactions that wrote them, and in their own order within one. On
    PostgreSQL a row is published only once every transaction older than its own has ended (it lies below
    the oldest running transaction, `pg_snapshot_xmin`): a lower id committing after a higher one can
    then never be published after it. SQLite has one writer at a time, so there id order is commit order.
    A batch that fails is retried whole, so some of its events may reach Kafka twice; consumers
    drop the duplicates by event id. Per key the first delivery of every event stays in order.
    On PostgreSQL an advisory lock keeps a single active relay per service, however many replicas run.
    """

    _LOCK_ID = 0x51_75_6E_79  # "Quny"

    def __init__(
        self,
        *,
        engine: AsyncEngine,
        outbox: Outbox,
        bootstrap_servers: str,
        client_id: str,
        health: BackgroundHealth | None = None,
        batch_size: int = 5000,
        idle_poll_seconds: float = 0.2,
        linger_seconds: float = 0.005,
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.bootstrap_servers = bootstrap_servers
        self.client_id = client_id
        self.health = health or BackgroundHealth()
        self.batch_size = batch_size
        self.idle_poll_seconds = idle_poll_seconds
        self.linger_seconds = linger_seconds
        self._producer: AIOKafkaProducer | None = None

    async def run(self) -> None:
        """Publishes forever; cancelled by the service's lifespan at shutdown."""
        try:
            async with self.engine.connect() as lock_connection:
                try:
                    await self._become_leader(lock_connection)
                    await self._publish_forever(lock_connection)
                finally:
                    # The advisory lock belongs to the session: a pooled connection would keep it and
                    # starve the next relay of this process (restart after a crash). Closing releases it.
                    await lock_connection.invalidate()
        finally:
            await self._close_producer()

    async def _become_leader(self, connection: AsyncConnection) -> None:
        if connection.dialect.name != "postgresql":
            return
        while not (await connection.execute(text(f"SELECT pg_try_advisory_lock({self._LOCK_ID})"))).scalar():
            await connection.rollback()
            await asyncio.sleep(1.0)
        await connection.commit()
        raw = (await connection.get_raw_connection()).driver_connection
        assert raw is not None, "the lock connection is open"
        await raw.add_listener(_CHANNEL, lambda *_: self.outbox.wakeup.set())

    async def _publish_forever(self, lock_connection: AsyncConnection) -> None:
        """Publishes batch after batch, waiting out Kafka in place. A database failure ends the loop instead:
        it may have taken the lock's session with it, so the supervisor starts this relay again as a candidate."""
        backoff = Backoff()
        while True:
            self.outbox.wakeup.clear()
            await self._confirm_leadership(lock_connection)
            try:
                published = await self.publish_batch()
                backoff.reset()
                self.health.resumed(_LOOP)
            except (TimeoutError, KafkaError, OSError) as exc:
                metrics.OUTBOX_PUBLISH_FAILURES.inc()
                self.health.stalled(_LOOP, exc)
                log.warning("outbox publish failed, will retry", extra={"error": repr(exc)})
                await self._close_producer()
                await backoff.wait()
                continue
            if published < self.batch_size:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.outbox.wakeup.wait(), self.idle_poll_seconds)
                    # Woken by a commit: let the commits right behind it land too, so one batch
                    # carries many events instead of a round of queries per event.
                    await asyncio.sleep(self.linger_seconds)

    async def _confirm_leadership(self, connection: AsyncConnection) -> None:
        """The lock lives as long as its session: if that connection is gone, so is the lock, and another
        replica may publish now. The query then raises, and the supervisor restarts this relay as a candidate."""
        if connection.dialect.name == "postgresql":
            await connection.execute(text("SELECT 1"))
            await connection.rollback()

    async def publish_batch(self) -> int:
        """Publishes the oldest unpublished rows; returns how many."""
        with collection.held_back():
            return await self._publish_oldest()

    async def _publish_oldest(self) -> int:
        async with self.engine.connect() as connection:
            rows = (await connection.execute(self._publishable(connection))).all()
        metrics.OUTBOX_BACKLOG.set(len(rows))
        if not rows:
            return 0
        producer = await self._ready_producer()
        deliveries = [
            await producer.send(
                row.topic,
                value=row.value,
                key=row.key,
                headers=[(name, value.encode()) for name, value in row.headers],
            )
            for row in rows
        ]
        await asyncio.gather(*deliveries)
        table = self.outbox.table
        async with self.engine.begin() as connection:
            await connection.execute(delete(table).where(one_of(connection, table.c.id, [row.id for row in rows])))
        for topic, count in Counter(row.topic for row in rows).items():
            metrics.EVENTS_PUBLISHED.labels(topic).inc(count)
        return len(rows)

    def _publishable(self, connection: AsyncConnection) -> Select[Any]:
        table = self.outbox.table
        rows = select(table.c.id, table.c.topic, table.c.key, table.c.value, table.c.headers).limit(self.batch_size)
        if connection.dialect.name != "postgresql":
            return rows.order_by(table.c.id)
        horizon = text("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
        return rows.where(table.c.transaction_id < horizon).order_by(table.c.transaction_id, table.c.id)

    async def _ready_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = new_producer(self.bootstrap_servers, client_id=self.client_id)
            try:
                await producer.start()
            except BaseException:
                await producer.stop()
                raise
            self._producer = producer
        return self._producer

    async def _close_producer(self) -> None:
        # A producer that saw a failure may hold stale sequence state: start afresh next time.
        producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await producer.stop()
            except Exception:
                log.debug("producer stop failed", exc_info=True)
