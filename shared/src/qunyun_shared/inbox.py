"""Idempotent consumer: handlers run in one transaction with the inbox rows that mark their
events processed; offsets are committed after; poison messages go to the dead-letter topic."""

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError
from sqlalchemy import Table, insert, select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from qunyun_shared import correlation, metrics
from qunyun_shared.bus import new_consumer, new_producer
from qunyun_shared.db import insert_rows, one_of
from qunyun_shared.events import CATALOGUE, Envelope
from qunyun_shared.events.kafka_binding import MalformedEvent, UnknownEvent, from_kafka
from qunyun_shared.outbox import Outbox
from qunyun_shared.topics import dead_letter_topic, topic_for

log = logging.getLogger(__name__)

Handler = Callable[[AsyncSession, Outbox, Sequence[Envelope]], Awaitable[None]]
"""Handles a run of consecutive events of one type, inside the caller's transaction; the events it
causes go into the outbox in that same transaction."""


@dataclass(frozen=True, slots=True)
class Delivery:
    record: ConsumerRecord
    envelope: Envelope


class EventConsumer:
    """Consumes the event types of `handlers`, each event effectively once."""

    def __init__(
        self,
        *,
        name: str,
        engine: AsyncEngine,
        inbox: Table,
        handlers: Mapping[str, Handler],
        bootstrap_servers: str,
        topic_prefix: str,
        outbox: Outbox,
        max_attempts: int = 3,
        batch_size: int = 5000,
    ) -> None:
        self.name = name
        self.engine = engine
        self.inbox = inbox
        self.handlers = handlers
        self.bootstrap_servers = bootstrap_servers
        self.topic_prefix = topic_prefix
        self.outbox = outbox
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self._dead_letters: AIOKafkaProducer | None = None
        self._not_handled = frozenset(type_ for type_, _ in CATALOGUE) - set(handlers)

    @property
    def topics(self) -> list[str]:
        return sorted(
            {topic_for(self.topic_prefix, spec) for (type_, _), spec in CATALOGUE.items() if type_ in self.handlers}
        )

    async def run(self) -> None:
        """Consumes until cancelled; a Kafka outage only pauses it."""
        consumer = new_consumer(self.bootstrap_servers, group_id=self.name, topics=self.topics, client_id=self.name)
        try:
            await self._start(consumer)
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=self.batch_size)
                if not batches:
                    continue
                # One transaction for the whole poll: each partition's records stay in their order.
                await self.handle_records([record for records in batches.values() for record in records])
                await consumer.commit({tp: records[-1].offset + 1 for tp, records in batches.items()})
        finally:
            await consumer.stop()
            if self._dead_letters is not None:
                await self._dead_letters.stop()

    async def _start(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            try:
                await consumer.start()
                return
            except KafkaError as exc:
                log.warning("consumer cannot reach Kafka yet", extra={"consumer": self.name, "error": repr(exc)})
                await asyncio.sleep(1.0)

    async def handle_records(self, records: Sequence[ConsumerRecord]) -> None:
        """Handles a batch: the good events together, the rest on their own."""
        deliveries: list[Delivery] = []
        for record in records:
            if self._passes_over(record):
                continue
            try:
                envelope = from_kafka(record.value, list(record.headers))
            except UnknownEvent as exc:
                await self._skip_unknown(record, exc)
                continue
            except MalformedEvent as exc:
                await self._dead_letter(record, exc)
                continue
            deliveries.append(Delivery(record, envelope))
        if not deliveries:
            return
        with metrics.HANDLER_SECONDS.labels(self.name).time():
            try:
                await self._handle_in_one_transaction(deliveries)
            except Exception:
                log.warning(
                    "batch failed, retrying its events one by one", extra={"consumer": self.name}, exc_info=True
                )
                for delivery in deliveries:
                    await self._handle_alone(delivery)

    def _passes_over(self, record: ConsumerRecord) -> bool:
        """Whether the record's type header names a catalogued type this consumer does not handle: its topics
        carry every event of their producers, and those it need not decode. A type this build does not know
        is decoded, to be counted as skipped; one without a type, to be dead-lettered."""
        type_ = dict(record.headers).get("ce_type")  # the last one, as from_kafka reads them
        return type_ is not None and type_.decode("utf-8", "replace") in self._not_handled

    async def _handle_in_one_transaction(self, deliveries: Sequence[Delivery], attempts: int = 1) -> None:
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            async with session.begin():
                fresh = await self._unprocessed(session, deliveries)
                # Consecutive events for one handler go to it together: a handler registered for
                # several types gets them in one call, in their order.
                for handler, run in groupby(fresh, key=lambda d: self.handlers[d.envelope.type]):
                    envelopes = [d.envelope for d in run]
                    correlation.bind(envelopes[-1].correlationid or None)
                    await handler(session, self.outbox, envelopes)
                if fresh:
                    await self._mark_processed(session, fresh, attempts)
            if session.info.get("outbox_written"):
                self.outbox.committed()
        for type_, count in Counter(d.envelope.type for d in fresh).items():
            metrics.EVENTS_CONSUMED.labels(self.name, type_, "processed").inc(count)

    async def _mark_processed(self, session: AsyncSession, fresh: Sequence[Delivery], attempts: int) -> None:
        rows = [
            {
                "consumer": self.name,
                "event_id": d.envelope.id,
                "event_type": d.envelope.type,
                "outcome": "processed",
                "attempts": attempts,
            }
            for d in fresh
        ]
        statement, parameters = insert_rows(session, self.inbox, rows)
        await session.execute(statement, parameters)

    async def _unprocessed(self, session: AsyncSession, deliveries: Sequence[Delivery]) -> list[Delivery]:
        """Drops events already in the inbox (redeliveries) and duplicates within the batch."""
        ids = {d.envelope.id for d in deliveries}
        done = set(
            (
                await session.execute(
                    select(self.inbox.c.event_id).where(
                        self.inbox.c.consumer == self.name, one_of(session, self.inbox.c.event_id, ids)
                    )
                )
            ).scalars()
        )
        fresh: list[Delivery] = []
        for delivery in deliveries:
            if delivery.envelope.id in done:
                metrics.EVENTS_CONSUMED.labels(self.name, delivery.envelope.type, "duplicate").inc()
                continue
            done.add(delivery.envelope.id)
            fresh.append(delivery)
        return fresh

    async def _handle_alone(self, delivery: Delivery) -> None:
        error: Exception | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                await self._handle_in_one_transaction([delivery], attempts=attempt)
                return
            except Exception as exc:
                error = exc
                await asyncio.sleep(0.05 * 2**attempt)
        assert error is not None
        await self._dead_letter(delivery.record, error)
        async with self.engine.begin() as connection:
            await connection.execute(
                insert(self.inbox).values(
                    consumer=self.name,
                    event_id=delivery.envelope.id,
                    event_type=delivery.envelope.type,
                    outcome="dead_lettered",
                    attempts=self.max_attempts,
                )
            )

    async def _skip_unknown(self, record: ConsumerRecord, unknown: UnknownEvent) -> None:
        """Skips what this build cannot read; a newer version of an event it handles is parked for replay."""
        handled = unknown.type in self.handlers
        metrics.EVENTS_CONSUMED.labels(self.name, unknown.type, "skipped_unknown").inc()
        log.info("skipping event this build does not know", extra={"event": str(unknown), "parked": handled})
        if handled:
            await self._dead_letter(record, unknown)

    async def _dead_letter(self, record: ConsumerRecord, error: Exception) -> None:
        """Parks a message with the reason; the consumer moves on."""
        if self._dead_letters is None:
            self._dead_letters = new_producer(self.bootstrap_servers, client_id=f"{self.name}-dlq")
            await self._dead_letters.start()
        headers = [
            *record.headers,
            ("dlq_consumer", self.name.encode()),
            ("dlq_source", f"{record.topic}/{record.partition}/{record.offset}".encode()),
            ("dlq_error", f"{type(error).__name__}: {error}"[:2000].encode()),
        ]
        await self._dead_letters.send_and_wait(
            dead_letter_topic(self.topic_prefix), value=record.value, key=record.key, headers=headers
        )
        metrics.EVENTS_DEAD_LETTERED.labels(self.name).inc()
        log.error(
            "event dead-lettered",
            extra={"consumer": self.name, "source": f"{record.topic}/{record.offset}", "error": str(error)},
        )


def is_infrastructure_failure(error: BaseException) -> bool:
    """The database or the network failed, not the event: retry later rather than dead-letter it."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OperationalError | InterfaceError | OSError | TimeoutError | KafkaError)
