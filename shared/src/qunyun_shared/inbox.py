"""Idempotent consumer: handlers run in one transaction with the inbox rows that mark their events
processed; offsets are committed after. A failed dependency stalls the consumer until it is back, never
costing an event; an event that fails its handler on its own is parked on the dead-letter topic, through
the outbox, in the same transaction as the inbox row that says so."""

import functools
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import CommitFailedError, IllegalStateError
from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from qunyun_shared import collection, correlation, metrics
from qunyun_shared.bus import new_consumer
from qunyun_shared.db import insert_rows, one_of
from qunyun_shared.deadletters import REPLAY_FOR, parked_headers
from qunyun_shared.events import CATALOGUE, Envelope
from qunyun_shared.events.kafka_binding import (
    IMPORTED_HEADER,
    IMPORTED_VALUE,
    MalformedEvent,
    UnknownEvent,
    from_kafka,
)
from qunyun_shared.failures import describe, is_infrastructure_failure
from qunyun_shared.outbox import Outbox
from qunyun_shared.supervision import BackgroundHealth, Backoff
from qunyun_shared.topics import dead_letter_topic, topic_for

log = logging.getLogger(__name__)

T = TypeVar("T")

Handler = Callable[[AsyncSession, Outbox, Sequence[Envelope]], Awaitable[None]]
"""Handles a run of consecutive events of one type, inside the caller's transaction; the events it
causes go into the outbox in that same transaction."""

PROCESSED, DEAD_LETTERED = "processed", "dead_lettered"
SKIPPED_IMPORTED = "skipped_imported"  # the outcome of imported history at a handler that takes news only
LOOP = "consumer"  # its name among the process's background loops

POLL_RECORDS = 5000  # records fetched from Kafka at once, their offsets committed together after
# Events handled in one transaction, by database. On PostgreSQL live writes go on beside it (they lock rows, not
# the database), so a batch is a whole poll; on SQLite each live write waits for it (one write lock per database,
# taken in turns: qunyun_shared.db), so a batch takes a fraction of a second.
BATCH_SIZES = {"postgresql": POLL_RECORDS, "sqlite": 200}


H = TypeVar("H", bound=Handler)


def news_only(handler: H) -> H:
    """Marks a handler that takes no imported history (Envelope.imported): the consumer passes such events
    over by their header, undecoded and without an inbox row, and counts them. An import of a million
    actions costs such a consumer (the gateway's webhooks, for one) nothing."""
    setattr(handler, "_news_only", True)  # noqa: B010 - a mark on the function itself
    return handler


def takes_news_only(handler: Handler) -> bool:
    return bool(getattr(handler, "_news_only", False))


@dataclass(frozen=True, slots=True)
class Delivery:
    record: ConsumerRecord
    envelope: Envelope

    @property
    def replayed_for(self) -> str | None:
        """The consumer an operator sent this parked event back to, if it is such a replay."""
        value = dict(self.record.headers).get(REPLAY_FOR)
        return value.decode("utf-8", "replace") if value is not None else None


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
        health: BackgroundHealth | None = None,
        max_attempts: int = 3,
        batch_size: int | None = None,
        retry_cap_seconds: float = 5.0,
    ) -> None:
        self.name = name
        self.engine = engine
        self.inbox = inbox
        self.handlers = handlers
        self.bootstrap_servers = bootstrap_servers
        self.topic_prefix = topic_prefix
        self.outbox = outbox
        self.health = health or BackgroundHealth()
        self.max_attempts = max_attempts
        self.batch_size = batch_size or BATCH_SIZES.get(engine.dialect.name, BATCH_SIZES["postgresql"])
        self.retry_cap_seconds = retry_cap_seconds
        self._not_handled = frozenset(type_ for type_, _ in CATALOGUE) - set(handlers)
        self._news_only = frozenset(type_ for type_, handler in handlers.items() if takes_news_only(handler))

    @property
    def topics(self) -> list[str]:
        return sorted(
            {topic_for(self.topic_prefix, spec) for (type_, _), spec in CATALOGUE.items() if type_ in self.handlers}
        )

    async def run(self) -> None:
        """Consumes until cancelled; an outage of Kafka or the database only pauses it."""
        consumer = new_consumer(self.bootstrap_servers, group_id=self.name, topics=self.topics, client_id=self.name)
        try:
            await self._until_dependencies_answer(consumer.start)
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=POLL_RECORDS)
                if not batches:
                    continue
                # Each partition's records stay in their order.
                await self.handle_records([record for records in batches.values() for record in records])
                await self._commit(consumer, {tp: records[-1].offset + 1 for tp, records in batches.items()})
        finally:
            await consumer.stop()

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            await self._until_dependencies_answer(lambda: consumer.commit(offsets))
        except (CommitFailedError, IllegalStateError) as exc:
            # The group moved these partitions to another member while the batch was handled: it reads them
            # again from the last commit, and the inbox drops what this batch already did.
            log.warning(
                "offsets not committed, partitions reassigned", extra={"consumer": self.name, "error": repr(exc)}
            )

    async def handle_records(self, records: Sequence[ConsumerRecord]) -> None:
        """Handles records in their order, `batch_size` events a transaction: the good events of a batch
        together, the rest on their own; returns once each is processed or parked, however long a failed
        dependency takes to come back."""
        with collection.held_back():
            await self._handle_records(records)

    async def _handle_records(self, records: Sequence[ConsumerRecord]) -> None:
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
                await self._park(record, exc, event_id=_position_id(record), event_type="malformed")
                continue
            deliveries.append(Delivery(record, envelope))
        for start in range(0, len(deliveries), self.batch_size):
            await self._handle_batch(deliveries[start : start + self.batch_size])

    async def _handle_batch(self, deliveries: Sequence[Delivery]) -> None:
        with metrics.HANDLER_SECONDS.labels(self.name).time():
            try:
                await self._until_dependencies_answer(lambda: self._handle_in_one_transaction(deliveries))
            except Exception:
                log.warning(
                    "batch failed, retrying its events one by one", extra={"consumer": self.name}, exc_info=True
                )
                for delivery in deliveries:
                    await self._handle_alone(delivery)

    async def _until_dependencies_answer(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Runs `attempt` until no dependency fails it, backing off up to the cap and reporting the stall;
        a failure that is not a dependency's is raised."""
        backoff = Backoff(first=0.05, cap=self.retry_cap_seconds)
        while True:
            try:
                result = await attempt()
            except Exception as exc:
                if not is_infrastructure_failure(exc):
                    raise
                self.health.stalled(LOOP, exc)
                collection.catch_up()  # the batch may wait for as long as the outage lasts
                log.warning("consumer waiting for a dependency", extra={"consumer": self.name, "error": describe(exc)})
                await backoff.wait()
                continue
            self.health.resumed(LOOP)
            return result

    def _passes_over(self, record: ConsumerRecord) -> bool:
        """Whether the record's headers say this consumer need not decode it: a catalogued type it does not
        handle (its topics carry every event of their producers), or imported history for a handler that
        takes news only (counted). A type this build does not know is decoded, to be counted as skipped; one
        without a type, to be dead-lettered."""
        headers = dict(record.headers)  # the last of a name, as from_kafka reads them
        raw_type = headers.get("ce_type")
        if raw_type is None:
            return False
        type_ = raw_type.decode("utf-8", "replace")
        if type_ in self._not_handled:
            return True
        if type_ in self._news_only and headers.get(IMPORTED_HEADER) == IMPORTED_VALUE.encode():
            metrics.EVENTS_CONSUMED.labels(self.name, type_, SKIPPED_IMPORTED).inc()
            return True
        return False

    async def _handle_in_one_transaction(self, deliveries: Sequence[Delivery], attempts: int = 1) -> None:
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            async with session.begin():
                fresh, parked_before = await self._unprocessed(session, deliveries)
                # Consecutive events for one handler go to it together: a handler registered for
                # several types gets them in one call, in their order.
                for handler, run in groupby(fresh, key=lambda d: self.handlers[d.envelope.type]):
                    envelopes = [d.envelope for d in run]
                    correlation.bind(envelopes[-1].correlationid or None)
                    await handler(session, self.outbox, envelopes)
                if parked_before:
                    await self._forget_parked(session, parked_before)
                if fresh:
                    await self._record(session, [(d.envelope.id, d.envelope.type) for d in fresh], PROCESSED, attempts)
            if session.info.get("outbox_written"):
                self.outbox.committed()
        for type_, count in Counter(d.envelope.type for d in fresh).items():
            metrics.EVENTS_CONSUMED.labels(self.name, type_, PROCESSED).inc(count)

    async def _record(
        self, session: AsyncSession, events: Sequence[tuple[str, str]], outcome: str, attempts: int
    ) -> None:
        rows = [
            {"consumer": self.name, "event_id": id_, "event_type": type_, "outcome": outcome, "attempts": attempts}
            for id_, type_ in events
        ]
        statement, parameters = insert_rows(session, self.inbox, rows)
        await session.execute(statement, parameters)

    async def _unprocessed(
        self, session: AsyncSession, deliveries: Sequence[Delivery]
    ) -> tuple[list[Delivery], list[str]]:
        """Drops events already in the inbox (redeliveries) and duplicates within the batch. A parked event
        is handled again only when an operator replays it to this consumer; the ids of those come second."""
        outcomes = await self._outcomes(session, {d.envelope.id for d in deliveries})
        fresh: list[Delivery] = []
        parked_before: list[str] = []
        for delivery in deliveries:
            event_id = delivery.envelope.id
            outcome = outcomes.get(event_id)
            if outcome == DEAD_LETTERED and delivery.replayed_for == self.name:
                parked_before.append(event_id)
            elif outcome is not None:
                metrics.EVENTS_CONSUMED.labels(self.name, delivery.envelope.type, "duplicate").inc()
                continue
            outcomes[event_id] = PROCESSED
            fresh.append(delivery)
        return fresh, parked_before

    async def _outcomes(self, session: AsyncSession, event_ids: set[str]) -> dict[str, str]:
        inbox = self.inbox
        rows = await session.execute(
            select(inbox.c.event_id, inbox.c.outcome).where(
                inbox.c.consumer == self.name, one_of(session, inbox.c.event_id, event_ids)
            )
        )
        return {event_id: outcome for event_id, outcome in rows}

    async def _forget_parked(self, session: AsyncSession, event_ids: Sequence[str]) -> None:
        inbox = self.inbox
        await session.execute(
            delete(inbox).where(inbox.c.consumer == self.name, one_of(session, inbox.c.event_id, event_ids))
        )

    async def _handle_alone(self, delivery: Delivery) -> None:
        """Tries an event a few times on its own; parks it if it fails each time by its own fault."""
        error: Exception | None = None
        for attempt in range(1, self.max_attempts + 1):
            try:
                await self._until_dependencies_answer(
                    functools.partial(self._handle_in_one_transaction, [delivery], attempts=attempt)
                )
                return
            except Exception as exc:
                error = exc
                log.info("event failed its handler", extra={"consumer": self.name, "attempt": attempt}, exc_info=True)
        assert error is not None
        await self._park(delivery.record, error, event_id=delivery.envelope.id, event_type=delivery.envelope.type)

    async def _skip_unknown(self, record: ConsumerRecord, unknown: UnknownEvent) -> None:
        """Skips what this build cannot read; a newer version of an event it handles is parked for replay."""
        handled = unknown.type in self.handlers
        metrics.EVENTS_CONSUMED.labels(self.name, unknown.type, "skipped_unknown").inc()
        log.info("skipping event this build does not know", extra={"event": str(unknown), "parked": handled})
        if handled:
            event_id = dict(record.headers).get("ce_id", b"").decode("utf-8", "replace")
            await self._park(record, unknown, event_id=event_id or _position_id(record), event_type=unknown.type)

    async def _park(self, record: ConsumerRecord, error: Exception, *, event_id: str, event_type: str) -> None:
        """Parks a message with the reason, waiting out any dependency failure meanwhile: the inbox row that
        says so and the dead-letter message (through the outbox) commit together, so an event is never both
        parked and processed, nor parked and lost."""
        await self._until_dependencies_answer(lambda: self._park_once(record, error, event_id[:36], event_type[:100]))
        metrics.EVENTS_DEAD_LETTERED.labels(self.name).inc()
        log.error(
            "event dead-lettered",
            extra={"consumer": self.name, "source": f"{record.topic}/{record.offset}", "error": describe(error)},
        )

    async def _park_once(self, record: ConsumerRecord, error: Exception, event_id: str, event_type: str) -> None:
        async with AsyncSession(self.engine) as session, session.begin():
            outcome = (await self._outcomes(session, {event_id})).get(event_id)
            if outcome == PROCESSED:
                return  # handled meanwhile by the replica the partition moved to
            if outcome == DEAD_LETTERED:
                await self._forget_parked(session, [event_id])  # parked again after a replay
            await self._record(session, [(event_id, event_type)], DEAD_LETTERED, self.max_attempts)
            await self.outbox.add_message(
                session,
                event_id=event_id,
                topic=dead_letter_topic(self.topic_prefix),
                key=record.key or b"",
                value=record.value or b"",
                headers=parked_headers(record, consumer=self.name, error=describe(error)),
            )
        self.outbox.committed()


def _position_id(record: ConsumerRecord) -> str:
    """A stable id for a message with none of its own, from where it sits: a redelivery is recognised."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"kafka:{record.topic}/{record.partition}/{record.offset}"))
