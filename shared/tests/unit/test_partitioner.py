"""The producers' partitioner puts each key where Kafka's default partitioner does."""

import random

import pytest
from aiokafka.partitioner import DefaultPartitioner

from qunyun_shared.bus import new_producer, partition_for_key

pytestmark = pytest.mark.unit


def test_every_key_lands_on_the_partition_kafkas_default_partitioner_picks() -> None:
    rng = random.Random(7)
    for length in range(0, 120):
        for _ in range(20):
            key = rng.randbytes(length)
            partitions = list(range(rng.randint(1, 64)))
            assert partition_for_key(key, partitions, partitions) == DefaultPartitioner()(key, partitions, partitions)


def test_a_message_without_a_key_goes_to_an_available_partition() -> None:
    assert partition_for_key(None, [0, 1, 2], [2]) == 2
    assert partition_for_key(None, [0, 1, 2], []) in (0, 1, 2)


async def test_the_platforms_producers_use_it() -> None:
    producer = new_producer("127.0.0.1:9092", client_id="test")
    assert producer._partitioner is partition_for_key
    await producer.stop()
