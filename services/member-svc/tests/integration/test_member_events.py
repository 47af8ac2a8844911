"""member-svc as a real process on PostgreSQL: what it puts on Kafka."""

import uuid

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from qunyun_shared.events import new_event
from qunyun_shared.events.analytics import CommunityStageChangedV1
from qunyun_shared.events.kafka_binding import from_kafka, to_kafka
from qunyun_shared.events.member import MemberJoinedV1
from qunyun_shared.testing import eventually
from tests.support.harness import KAFKA_BOOTSTRAP, Platform

pytestmark = pytest.mark.integration


async def test_a_join_is_published_as_a_cloudevent_keyed_by_tenant_and_member(
    platform: Platform, http: httpx.AsyncClient
) -> None:
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    headers = platform.identity_header(tenant)
    base = platform.url("member-svc")
    community = (await http.post(f"{base}/communities", json={"name": "群", "kind": "vip"}, headers=headers)).json()
    member = (await http.post(f"{base}/members", json={"nickname": "阿杰"}, headers=headers)).json()
    joined = await http.post(
        f"{base}/communities/{community['id']}/members",
        json={"member_id": member["id"], "channel": "store"},
        headers=headers,
    )
    assert joined.status_code == 201

    def published(records: list[object]) -> bool:
        return any(r.key == f"{tenant}:{member['id']}".encode() for r in records)  # type: ignore[attr-defined]

    records = await platform.read_topic("member", until=published)
    [record] = [r for r in records if r.key == f"{tenant}:{member['id']}".encode()]  # type: ignore[attr-defined]
    event = from_kafka(record.value, list(record.headers))  # type: ignore[attr-defined]
    assert (event.type, event.source, event.tenantid, event.dataversion) == ("member.joined", "member-svc", tenant, 1)
    assert isinstance(event.data, MemberJoinedV1)
    assert (str(event.data.community_id), event.data.channel) == (community["id"], "store")


async def test_a_stage_judged_by_analytics_shows_on_the_community(platform: Platform, http: httpx.AsyncClient) -> None:
    tenant = f"tenant-{uuid.uuid4().hex[:8]}"
    headers = platform.identity_header(tenant)
    base = platform.url("member-svc")
    community = (await http.post(f"{base}/communities", json={"name": "群", "kind": "vip"}, headers=headers)).json()
    assert community["stage"] is None
    change = CommunityStageChangedV1(community_id=community["id"], to_stage="mature")
    record = to_kafka(new_event(source="analytics-svc", tenant_id=tenant, payload=change))
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA_BOOTSTRAP)
    await producer.start()
    try:
        await producer.send_and_wait(
            f"{platform.prefix}.analytics", record.value, key=record.key, headers=record.headers
        )
    finally:
        await producer.stop()

    async def staged() -> None:
        shown = (await http.get(f"{base}/communities/{community['id']}", headers=headers)).json()
        assert shown["stage"] == "mature"

    await eventually(staged)
