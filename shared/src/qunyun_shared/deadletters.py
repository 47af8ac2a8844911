"""Dead letters: what a consumer parked and why, and sending chosen ones back once the cause is fixed.

    python -m qunyun_shared.deadletters list [--consumer C] [--type T] [--error TEXT] [--since TIME] [--json]
    python -m qunyun_shared.deadletters replay (--offset N ... | --all) [the same filters] [--dry-run]

A replay puts the parked message back on the topic it came from, marked for the consumer that parked it.
That is safe: every consumer drops an event its inbox already holds, and only the consumer named in the
mark handles a parked event again.
"""

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from qunyun_shared.bus import new_producer
from qunyun_shared.topics import dead_letter_topic

CONSUMER, SOURCE, ERROR = "dlq_consumer", "dlq_source", "dlq_error"
REPLAY_FOR = "dlq_replay_for"
"""Header naming the consumer a replayed event is meant for: the one consumer that handles it again."""


def parked_headers(record: ConsumerRecord, *, consumer: str, error: str) -> list[list[str]]:
    """A parked message's headers, as the outbox stores them: the original ones (less any earlier parking
    or replay marks) and who parked it, from where, and why."""
    kept = [[name, value.decode("utf-8", "replace")] for name, value in original_headers(record)]
    return [
        *kept,
        [CONSUMER, consumer],
        [SOURCE, f"{record.topic}/{record.partition}/{record.offset}"],
        [ERROR, error[:2000]],
    ]


def original_headers(record: ConsumerRecord) -> list[tuple[str, bytes]]:
    """A message's headers less the marks of parking and replaying it."""
    return [(name, value) for name, value in record.headers if not name.startswith("dlq_")]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """One parked message, as the dead-letter topic holds it."""

    offset: str  # "partition:offset" on the dead-letter topic
    parked_at: datetime
    consumer: str
    event_type: str
    event_id: str
    source: str
    error: str

    @property
    def source_topic(self) -> str:
        return self.source.rsplit("/", 2)[0]

    @classmethod
    def of(cls, record: ConsumerRecord) -> "DeadLetter":
        headers = {name: value.decode("utf-8", "replace") for name, value in record.headers}
        return cls(
            offset=f"{record.partition}:{record.offset}",
            parked_at=datetime.fromtimestamp(record.timestamp / 1000, UTC),
            consumer=headers.get(CONSUMER, ""),
            event_type=headers.get("ce_type", ""),
            event_id=headers.get("ce_id", ""),
            source=headers.get(SOURCE, ""),
            error=headers.get(ERROR, ""),
        )


@dataclass(frozen=True, slots=True)
class Selection:
    """Which dead letters a command is about; every given criterion must hold."""

    consumer: str | None = None
    event_type: str | None = None
    error: str | None = None
    since: datetime | None = None
    offsets: frozenset[str] = frozenset()

    def __contains__(self, letter: DeadLetter) -> bool:
        return (
            (self.consumer is None or letter.consumer == self.consumer)
            and (self.event_type is None or letter.event_type == self.event_type)
            and (self.error is None or self.error.lower() in letter.error.lower())
            and (self.since is None or letter.parked_at >= self.since)
            and (not self.offsets or letter.offset in self.offsets)
        )


async def read_dead_letters(bootstrap_servers: str, prefix: str) -> list[tuple[ConsumerRecord, DeadLetter]]:
    """Every message on the dead-letter topic, read from its start to its current end."""
    topic = dead_letter_topic(prefix)
    reader = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,
        group_id=None,
        auto_offset_reset="earliest",
        request_timeout_ms=10_000,
    )
    await reader.start()
    try:
        partitions = sorted(reader.assignment())  # without a group, every partition of the topic
        if not partitions:
            raise LookupError(f"no topic {topic}")
        ends = await reader.end_offsets(partitions)
        records: list[ConsumerRecord] = []
        while [tp for tp, end in ends.items() if await reader.position(tp) < end]:
            for batch in (await reader.getmany(*partitions, timeout_ms=1000)).values():
                records.extend(r for r in batch if r.offset < ends[TopicPartition(r.topic, r.partition)])
    finally:
        await reader.stop()
    return [(record, DeadLetter.of(record)) for record in records]


async def list_dead_letters(bootstrap_servers: str, prefix: str, selection: Selection) -> list[DeadLetter]:
    return [letter for _, letter in await read_dead_letters(bootstrap_servers, prefix) if letter in selection]


async def replay(
    bootstrap_servers: str, prefix: str, selection: Selection, *, dry_run: bool = False
) -> list[DeadLetter]:
    """Sends the selected dead letters back to their source topics, each marked for its consumer."""
    chosen = [(r, letter) for r, letter in await read_dead_letters(bootstrap_servers, prefix) if letter in selection]
    if dry_run or not chosen:
        return [letter for _, letter in chosen]
    producer = new_producer(bootstrap_servers, client_id="qunyun-deadletters")
    await producer.start()
    try:
        for record, letter in chosen:
            headers = [*original_headers(record), (REPLAY_FOR, letter.consumer.encode())]
            await producer.send(letter.source_topic, record.value, key=record.key or None, headers=headers)
        await producer.flush()
    finally:
        await producer.stop()
    return [letter for _, letter in chosen]


def _selection(args: argparse.Namespace) -> Selection:
    return Selection(
        consumer=args.consumer,
        event_type=args.type,
        error=args.error,
        since=datetime.fromisoformat(args.since).astimezone(UTC) if args.since else None,
        offsets=frozenset(getattr(args, "offset", None) or ()),
    )


def _print(letters: Sequence[DeadLetter], as_json: bool) -> None:
    if as_json:
        print(json.dumps([asdict(letter) for letter in letters], default=str, ensure_ascii=False, indent=2))
        return
    for letter in letters:
        print(
            f"{letter.offset}\t{letter.parked_at:%Y-%m-%d %H:%M:%S}Z\t{letter.consumer}\t"
            f"{letter.event_type or '-'}\t{letter.event_id or '-'}\t{letter.source}\t{letter.error}"
        )
    print(f"{len(letters)} dead letter(s)", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m qunyun_shared.deadletters", description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"))
    parser.add_argument("--prefix", default=os.environ.get("KAFKA_TOPIC_PREFIX", "qunyun"))
    commands = parser.add_subparsers(dest="command", required=True)
    for name in ("list", "replay"):
        command = commands.add_parser(name)
        command.add_argument("--consumer", help="the consumer that parked them (a service name)")
        command.add_argument("--type", help="event type, e.g. member.joined")
        command.add_argument("--error", help="text the error contains")
        command.add_argument("--since", help="parked at or after this ISO time")
        command.add_argument("--json", action="store_true", help="print JSON")
    replaying = commands.choices["replay"]
    which = replaying.add_mutually_exclusive_group(required=True)
    which.add_argument("--offset", action="append", help="PARTITION:OFFSET on the dead-letter topic, repeatable")
    which.add_argument("--all", action="store_true", help="every dead letter the filters select")
    replaying.add_argument("--dry-run", action="store_true", help="show what would be replayed")
    args = parser.parse_args(argv)
    selection = _selection(args)
    if args.command == "list":
        _print(asyncio.run(list_dead_letters(args.bootstrap, args.prefix, selection)), args.json)
        return 0
    letters = asyncio.run(replay(args.bootstrap, args.prefix, selection, dry_run=args.dry_run))
    _print(letters, args.json)
    print(("would replay" if args.dry_run else "replayed") + f" {len(letters)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
