"""Reference: what aiokafka alone does on this broker, with the platform's producer settings."""

import secrets
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.sample import member_joined_record, wire_size
from qunyun_shared.topics import create_topics
from tests.support.harness import KAFKA_BOOTSTRAP

TIME_LIMIT_SECONDS = 30.0


async def measure(*, count: int) -> dict[str, object]:
    """Produces `count` member.joined-sized messages, then consumes them back; messages/s for each."""
    prefix = f"qbraw{secrets.token_hex(4)}"
    await create_topics(KAFKA_BOOTSTRAP, prefix)
    topic = f"{prefix}.member"
    record = member_joined_record(tenant_id=str(uuid.uuid4()))
    produced, produce_seconds = await _produce(topic, record, count)
    consumed, consume_seconds = await _consume(topic, produced)
    return {
        "topic_prefix": prefix,
        "messages": count,
        "message_bytes": wire_size(record),
        "producer": {"acks": "all", "enable_idempotence": True, "linger_ms": 5, "max_batch_size": 256 * 1024},
        "produce_per_second": round(produced / produce_seconds),
        "produce_seconds": round(produce_seconds, 3),
        "consume_per_second": round(consumed / consume_seconds),
        "consume_seconds": round(consume_seconds, 3),
        "consume_timing": "from the first batch received (not counted) to the last, plus one commit",
    }


async def _produce(topic: str, record: object, count: int) -> tuple[int, float]:
    producer = AIOKafkaProducer(
        bootstrap_servers=KAFKA_BOOTSTRAP,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    # Keys like the platform's (tenant:subject), spread over every partition.
    keys = [f"{record.key.decode()}-{i % 1024}".encode() for i in range(1024)]  # type: ignore[attr-defined]
    deliveries = []
    try:
        started = time.perf_counter()
        deadline = started + TIME_LIMIT_SECONDS
        for index in range(count):
            deliveries.append(
                await producer.send(
                    topic,
                    value=record.value,  # type: ignore[attr-defined]
                    key=keys[index % 1024],
                    headers=record.headers,  # type: ignore[attr-defined]
                )
            )
            if index % 10_000 == 0 and time.perf_counter() > deadline:
                break
        await producer.flush()
        elapsed = time.perf_counter() - started
    finally:
        await producer.stop()
    failed = [d for d in deliveries if d.exception() is not None]
    if failed:
        raise RuntimeError(f"{len(failed)} messages not acknowledged: {failed[0].exception()!r}")
    return len(deliveries), elapsed


async def _consume(topic: str, expected: int) -> tuple[int, float]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=KAFKA_BOOTSTRAP,
        group_id=f"{topic}-bench",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=4 * 1024 * 1024,
    )
    await consumer.start()
    consumed, first, first_batch = 0, 0.0, 0
    try:
        deadline = time.monotonic() + TIME_LIMIT_SECONDS + 30
        while consumed < expected and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=10_000)
            received = sum(len(records) for records in batches.values())
            if received and not consumed:
                # The clock starts at the first record, so group join and rebalance are not counted.
                first, first_batch = time.perf_counter(), received
            consumed += received
        await consumer.commit()
        elapsed = time.perf_counter() - first
    finally:
        await consumer.stop()
    if consumed < expected:
        raise RuntimeError(f"consumed {consumed} of {expected} messages in time")
    return consumed - first_batch, elapsed
