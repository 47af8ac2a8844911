"""Kafka clients configured the one way the platform uses them."""

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


def new_producer(bootstrap_servers: str, *, client_id: str) -> AIOKafkaProducer:
    """An idempotent producer (acks=all) that batches: aiokafka's default linger of 0 sends tiny batches."""
    return AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
        request_timeout_ms=10_000,
        retry_backoff_ms=200,
    )


def new_consumer(bootstrap_servers: str, *, group_id: str, topics: list[str], client_id: str) -> AIOKafkaConsumer:
    """A consumer whose offsets are committed by hand, after the handler's transaction."""
    return AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap_servers,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        session_timeout_ms=10_000,
        heartbeat_interval_ms=1_000,
    )
