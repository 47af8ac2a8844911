"""Transactional outbox: events are rows written in the state change's own transaction,
published afterwards by a relay that survives Kafka outages without loss or reordering."""

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from sqlalchemy import Table, delete, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from qunyun_shared import metrics
from qunyun_shared.bus import new_producer
from qunyun_shared.db import insert_rows, one_of
from qunyun_shared.events import Envelope, EventPayload, new_event
from qunyun_shared.events.catalogue import spec_for
from qunyun_shared.events.kafka_binding import to_kafka
from qunyun_shared.topics import topic_for

log = logging.getLogger(__name__)

_CHANNEL = "qunyun_outbox"


class Outbox:
    """Writes a service's events into its outbox table, inside the caller's transaction."""

    def __init__(self, *, table: Table, source: str, topic_prefix: str) -> None:
        self.table = table
        self.source = source
        self.topic_prefix = topic_prefix
        self.wakeup = asyncio.Event()

    async def add(self, session: AsyncSession, *, tenant_id: str, payloads: Sequence[EventPayload]) -> list[Envelope]:
        """Stages events; they become visible to the relay only if the transaction commits."""
        envelopes = [new_event(source=self.source, tenant_id=tenant_id, payload=p) for p in payloads]
        if envelopes:
            statement, parameters = insert_rows(session, self.table, [self._row(e) for e in envelopes])
            await session.execute(statement, parameters)
            if not session.info.get("outbox_written") and session.get_bind().dialect.name == "postgresql":
                # Delivered at commit, to whichever process of whichever replica runs the relay.
                await session.execute(text(f"NOTIFY {_CHANNEL}"))
            session.info["outbox_written"] = True
        return envelopes

    def committed(self) -> None:
        """Tells the relay that new rows are there, so it need not wait for its next poll."""
        self.wakeup.set()

    def _row(self, envelope: Envelope) -> dict[str, Any]:
        record = to_kafka(envelope)
        return {
            "event_id": envelope.id,
            "topic": topic_for(self.topic_prefix, spec_for(type(envelope.data))),
            "key": record.key,
            "value": record.value,
            "headers": [[name, value.decode()] for name, value in record.headers],
        }


class OutboxRelay:
    """Publishes outbox rows in id order with an idempotent producer, then deletes them.

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
        batch_size: int = 5000,
        idle_poll_seconds: float = 0.2,
        linger_seconds: float = 0.005,
    ) -> None:
        self.engine = engine
        self.outbox = outbox
        self.bootstrap_servers = bootstrap_servers
        self.client_id = client_id
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
        backoff = 0.1
        while True:
            self.outbox.wakeup.clear()
            await self._confirm_leadership(lock_connection)
            try:
                published = await self.publish_batch()
                backoff = 0.1
            except (TimeoutError, KafkaError, OSError) as exc:
                metrics.OUTBOX_PUBLISH_FAILURES.inc()
                log.warning("outbox publish failed, will retry", extra={"error": repr(exc), "retry_in": backoff})
                await self._close_producer()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
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
        table = self.outbox.table
        async with self.engine.connect() as connection:
            rows = (
                await connection.execute(
                    select(table.c.id, table.c.topic, table.c.key, table.c.value, table.c.headers)
                    .order_by(table.c.id)
                    .limit(self.batch_size)
                )
            ).all()
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
        async with self.engine.begin() as connection:
            # By id, not by range: on PostgreSQL a lower id can commit after a higher one was read.
            await connection.execute(delete(table).where(one_of(connection, table.c.id, [row.id for row in rows])))
        for row in rows:
            metrics.EVENTS_PUBLISHED.labels(row.topic).inc()
        return len(rows)

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
