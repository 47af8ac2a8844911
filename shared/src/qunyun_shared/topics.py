"""Kafka topics of the platform, derived from the catalogue; `python -m qunyun_shared.topics create`."""

import argparse
import asyncio
import os
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from qunyun_shared.events.catalogue import CATALOGUE, EventSpec

PARTITIONS = 6
DEAD_LETTER = "deadletter"
# Topics keep every event: analytics rebuilds its numbers by replaying from offset zero.
_TOPIC_CONFIG = {"retention.ms": "-1", "min.insync.replicas": "1"}


def topic_for(prefix: str, spec: EventSpec) -> str:
    """The topic an event type is published on: one per producing service."""
    return f"{prefix}.{spec.stream}"


def dead_letter_topic(prefix: str) -> str:
    return f"{prefix}.{DEAD_LETTER}"


def all_topics(prefix: str) -> list[str]:
    """Every topic the platform uses under `prefix`."""
    streams = sorted({topic_for(prefix, spec) for spec in CATALOGUE.values()})
    return [*streams, dead_letter_topic(prefix)]


async def create_topics(bootstrap_servers: str, prefix: str, partitions: int = PARTITIONS) -> list[str]:
    """Creates the missing topics; returns the ones it created."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in all_topics(prefix) if name not in existing]
        if missing:
            new = [NewTopic(name, partitions, 1, topic_configs=_TOPIC_CONFIG) for name in missing]
            response = await admin.create_topics(new)
            _raise_on_errors(response.topic_errors)
        return missing
    finally:
        await admin.close()


def _raise_on_errors(topic_errors: list[tuple[Any, ...]]) -> None:
    # Another replica's start-up may have created a topic first: that is success too.
    failures = [(name, code) for name, code, *_ in topic_errors if code not in (0, TopicAlreadyExistsError.errno)]
    if failures:
        raise RuntimeError(f"could not create topics: {failures}")


def main() -> None:
    parser = argparse.ArgumentParser(description="Create the platform's Kafka topics.")
    parser.add_argument("command", choices=["create", "list"])
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--prefix", default=os.environ.get("KAFKA_TOPIC_PREFIX", "qunyun"))
    args = parser.parse_args()
    if args.command == "list":
        print("\n".join(all_topics(args.prefix)))
        return
    created = asyncio.run(create_topics(args.bootstrap, args.prefix))
    print(f"created {len(created)} topic(s): {', '.join(created) or '-'}")


if __name__ == "__main__":
    main()
