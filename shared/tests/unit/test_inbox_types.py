"""Which records a consumer decodes: those of the types it handles, those of types this build does not know
(to count them skipped) and those naming no type (poison); the rest of its topics it passes over."""

from typing import Any, cast

import pytest
from aiokafka import ConsumerRecord
from prometheus_client import REGISTRY
from sqlalchemy import select

from qunyun_shared.db import new_metadata
from qunyun_shared.inbox import EventConsumer
from qunyun_shared.messaging import messaging_tables
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_database

pytestmark = pytest.mark.unit

METADATA = new_metadata()
TABLES = messaging_tables(METADATA)


def record(offset: int, headers: list[tuple[str, bytes]]) -> ConsumerRecord:
    fields: dict[str, Any] = dict(topic="t", partition=0, offset=offset, key=b"k", value=b"not json", headers=headers)
    return cast(ConsumerRecord, type("Record", (), fields)())


def typed(offset: int, type_: str) -> ConsumerRecord:
    attributes = {"specversion": "1.0", "id": f"e{offset}", "source": "s", "type": type_, "tenantid": "t"}
    return record(offset, [(f"ce_{k}", v.encode()) for k, v in attributes.items()] + [("ce_dataversion", b"1")])


def skipped(type_: str) -> float:
    labels = {"consumer": "c", "type": type_, "outcome": "skipped_unknown"}
    return REGISTRY.get_sample_value("qunyun_events_consumed_total", labels) or 0.0


async def test_only_types_it_handles_or_does_not_know_are_decoded() -> None:
    async def never(*_: object) -> None:
        raise AssertionError("no record here is to be handled")

    async with in_memory_database(METADATA) as engine:
        consumer = EventConsumer(
            name="c",
            engine=engine,
            inbox=TABLES.inbox,
            handlers={"member.left": never},
            bootstrap_servers="unused:9092",
            topic_prefix="p",
            outbox=Outbox(table=TABLES.outbox, source="c", topic_prefix="p"),
        )
        before = skipped("loyalty.unheard_of")
        # Undecodable all: the catalogued type it does not handle is never decoded; the one without a type is
        # parked; the unknown type is counted as skipped, from its headers alone.
        await consumer.handle_records(
            [typed(1, "member.joined"), record(2, [("ce_id", b"x")]), typed(3, "loyalty.unheard_of")]
        )
        async with engine.connect() as connection:
            parked = (await connection.execute(select(TABLES.outbox.c.topic, TABLES.outbox.c.headers))).all()
            inbox = (await connection.execute(select(TABLES.inbox.c.event_type, TABLES.inbox.c.outcome))).all()
    assert [(topic, dict(headers)["dlq_source"]) for topic, headers in parked] == [("p.deadletter", "t/0/2")]
    assert inbox == [("malformed", "dead_lettered")]
    assert skipped("loyalty.unheard_of") == before + 1
