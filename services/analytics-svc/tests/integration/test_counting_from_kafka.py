"""analytics-svc as a real process: events produced straight onto Kafka are counted once each."""

import uuid
from datetime import UTC, datetime

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from qunyun_shared.events import new_event
from qunyun_shared.events.kafka_binding import to_kafka
from qunyun_shared.events.member import MemberJoinedV1
from qunyun_shared.testing import eventually
from tests.support.harness import KAFKA_BOOTSTRAP, Platform

pytestmark = pytest.mark.integration


async def duplicates_dropped(http: httpx.AsyncClient, platform: Platform) -> float:
    """How many redeliveries analytics-svc has recognised, from its Prometheus metrics."""
    metrics = (await http.get(f"{platform.url('analytics-svc')}/metrics")).text
    lines = [
        line
        for line in metrics.splitlines()
        if line.startswith("qunyun_events_consumed_total") and 'outcome="duplicate"' in line
    ]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


async def test_duplicated_deliveries_are_counted_once(platform: Platform, http: httpx.AsyncClient) -> None:
    dropped_before = await duplicates_dropped(http, platform)
    tenant, community_id = f"tenant-{uuid.uuid4().hex[:8]}", uuid.uuid4()
    events = [
        new_event(
            source="member-svc",
            tenant_id=tenant,
            payload=MemberJoinedV1(
                member_id=uuid.uuid4(), community_id=community_id, channel="qr", joined_at=datetime.now(UTC)
            ),
        )
        for _ in range(5)
    ]
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA_BOOTSTRAP)
    await producer.start()
    try:
        for event in [*events, *events]:  # every event delivered twice, as after a relay retry
            record = to_kafka(event)
            await producer.send_and_wait(
                f"{platform.prefix}.member", record.value, key=record.key, headers=record.headers
            )
    finally:
        await producer.stop()

    url = f"{platform.url('analytics-svc')}/analytics/communities/{community_id}/members"

    async def counted_once() -> None:
        count = (await http.get(url, headers=platform.identity_header(tenant))).json()
        assert await duplicates_dropped(http, platform) >= dropped_before + 5
        assert (count["members"], count["joined_total"]) == (5, 5), count

    await eventually(counted_once)
