"""member-svc as `make run` runs it — a process on an embedded SQLite file — while its consumer takes in a
backlog of 10,000 events that each write (members' comments earning points, up to the daily limit): consents
recorded meanwhile all go through, each within a fraction of a second, where they used to wait for consumer
batches of 5,000 events in one transaction and lose SQLite's write lock to the next batch, past the 10 s busy
timeout into a 500."""

import asyncio
import sqlite3
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from qunyun_shared.events import new_event
from qunyun_shared.events.content import ContentEngagedV1
from qunyun_shared.events.kafka_binding import to_kafka
from qunyun_shared.testing import wait_until
from tests.support.harness import Platform

pytestmark = pytest.mark.integration

BACKLOG = 10_000


async def publish_comments(platform: Platform, tenant_id: str, members: list[str]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=platform.kafka, linger_ms=5)
    await producer.start()
    try:
        sent = []
        for n in range(BACKLOG):
            engaged = ContentEngagedV1(
                content_id=uuid.uuid4(),
                member_id=members[n % len(members)],
                action="comment",
                occurred_at=datetime.now(UTC),
            )
            record = to_kafka(new_event(source="content-svc", tenant_id=tenant_id, payload=engaged))
            sent.append(
                await producer.send(f"{platform.prefix}.content", record.value, key=record.key, headers=record.headers)
            )
        await asyncio.gather(*sent)
    finally:
        await producer.stop()


async def test_consents_go_through_at_once_while_the_consumer_takes_in_a_backlog(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    platform = await Platform.create(tmp_path_factory.mktemp("sqlite-backlog"), ["member-svc"], engine="sqlite")
    database = platform.databases["member-svc"].removeprefix("sqlite+aiosqlite:///")

    def handled() -> int:
        """Events the consumer has taken in so far, read beside it (WAL lets a reader in at any time)."""
        with sqlite3.connect(database) as connection:
            return int(connection.execute("SELECT count(*) FROM inbox WHERE outcome = 'processed'").fetchone()[0])

    try:
        async with httpx.AsyncClient(base_url=platform.url("member-svc"), timeout=60) as http:
            tenant_id = f"tenant-{uuid.uuid4().hex[:8]}"
            headers = platform.identity_header(tenant_id)
            members = [
                (await http.post("/members", json={"nickname": f"会员{n}"}, headers=headers)).json()["id"]
                for n in range(40)
            ]
            await publish_comments(platform, tenant_id, members)
            await wait_until(lambda: handled() > 0, timeout=30, what="the consumer starting on the backlog")
            started_at, answers, waits = handled(), [], []
            for n in range(30):
                consent = {"purpose": "marketing", "granted": n % 2 == 0, "source": "小程序"}
                begun = time.monotonic()
                answer = await http.post(f"/members/{members[n]}/consents", json=consent, headers=headers)
                waits.append(time.monotonic() - begun)
                answers.append(answer.status_code)
                await asyncio.sleep(0.05)
            meanwhile = handled() - started_at
            await wait_until(lambda: handled() == BACKLOG, timeout=120, what="the whole backlog taken in")
    finally:
        await platform.close()
    # Before writers took turns, the first consents waited out the 10 s busy timeout and failed.
    assert answers == [201] * 30, (answers, [round(wait, 2) for wait in waits])
    assert meanwhile >= 500, meanwhile  # the consumer was at work all along
