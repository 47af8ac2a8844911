"""Faults: Kafka down, a consumer killed mid-stream, a malformed message. Nothing lost, nothing twice."""

import asyncio

import httpx
import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord

from analytics_svc.handlers import HANDLERS as ANALYTICS_HANDLERS
from qunyun_shared.events.kafka_binding import MalformedEvent, UnknownEvent, from_kafka
from qunyun_shared.testing import eventually
from tests.e2e.helpers import join, new_community, new_members, wait_for_count
from tests.faults.infrastructure import FaultInfrastructure
from tests.support.harness import Platform, TenantKey

pytestmark = pytest.mark.faults


async def analytics_counter(http: httpx.AsyncClient, platform: Platform, outcome: str) -> float:
    """A count of events analytics-svc finished with the given outcome, from its /metrics."""
    text = (await http.get(f"{platform.url('analytics-svc')}/metrics")).text
    prefix = "qunyun_events_consumed_total{"
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(prefix) and f'outcome="{outcome}"' in line
    )


async def test_joins_are_accepted_while_kafka_is_down_and_arrive_once_and_in_order(
    platform: Platform, fault_infrastructure: FaultInfrastructure, tenant_api: httpx.AsyncClient
) -> None:
    community_id, churning_community = await new_community(tenant_api), await new_community(tenant_api)
    members = await new_members(tenant_api, 20)
    churner = members[0]
    await asyncio.to_thread(fault_infrastructure.kafka, "stop")
    try:
        for member_id in members:
            assert (await join(tenant_api, community_id, member_id)).status_code == 201
        # One member's join, leave and join again: their order must survive the outage.
        assert (await join(tenant_api, churning_community, churner)).status_code == 201
        assert (await tenant_api.delete(f"/communities/{churning_community}/members/{churner}")).status_code == 204
        assert (await join(tenant_api, churning_community, churner)).status_code == 201
        assert (await tenant_api.get(f"/communities/{community_id}")).json()["member_count"] == 20
    finally:
        await asyncio.to_thread(fault_infrastructure.kafka, "start")
    await wait_for_count(tenant_api, community_id, 20, timeout=120)

    async def churner_counted() -> None:
        count = (await tenant_api.get(f"/analytics/communities/{churning_community}/members")).json()
        assert (count["members"], count["joined_total"], count["left_total"]) == (1, 2, 1)
        assert (await tenant_api.get(f"/content/communities/{churning_community}/audience")).json().get("members") == 1

    await eventually(churner_counted)

    def churner_story(records: list[ConsumerRecord]) -> list[str]:
        """The types of the member events of the churning community, each at its first delivery."""
        first_deliveries: dict[str, str] = {}
        for record in records:
            event = from_kafka(record.value, list(record.headers))
            if event.type.startswith("member.") and str(getattr(event.data, "community_id", "")) == churning_community:
                first_deliveries.setdefault(event.id, event.type)
        return list(first_deliveries.values())

    records = await platform.read_topic("member", until=lambda rs: len(churner_story(rs)) >= 3)
    assert churner_story(records) == ["member.joined", "member.left", "member.joined"]


async def test_analytics_killed_mid_stream_and_fed_everything_again_counts_each_event_once(
    platform: Platform, tenant_api: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    witness = await new_community(tenant_api)
    for member_id in await new_members(tenant_api, 5):
        await join(tenant_api, witness, member_id)
    await wait_for_count(tenant_api, witness, 5)

    community_id = await new_community(tenant_api)
    members = await new_members(tenant_api, 150)
    analytics = platform.services["analytics-svc"]
    posting = asyncio.gather(*(join(tenant_api, community_id, m) for m in members))

    async def part_counted() -> None:
        count = (await tenant_api.get(f"/analytics/communities/{community_id}/members")).json()["members"]
        assert 0 < count < len(members), count

    await eventually(part_counted, interval=0.02)
    analytics.kill()
    assert all(response.status_code == 201 for response in await posting)

    # While it is down, every event of the session is delivered again, as after a rebalance or a
    # relay retry: the restarted consumer must recognise each one already counted.
    republished = await republish_member_topic(platform)
    analytics.start()
    await analytics.wait_ready()
    await wait_for_count(tenant_api, community_id, len(members), timeout=90)

    async def redeliveries_recognised() -> None:
        assert await analytics_counter(http, platform, "duplicate") >= republished

    await eventually(redeliveries_recognised, timeout=60)
    await wait_for_count(tenant_api, community_id, len(members))
    await wait_for_count(tenant_api, witness, 5)


async def republish_member_topic(platform: Platform) -> int:
    """Sends every valid event of the session's member topic once more; returns how many analytics handles."""
    records = [r for r in await platform.read_topic("member", until=lambda rs: bool(rs)) if is_event(r)]
    producer = AIOKafkaProducer(bootstrap_servers=platform.kafka)
    await producer.start()
    try:
        for record in records:
            await producer.send(record.topic, record.value, key=record.key, headers=list(record.headers))
        await producer.flush()
    finally:
        await producer.stop()
    return sum(1 for r in records if from_kafka(r.value, list(r.headers)).type in ANALYTICS_HANDLERS)


def is_event(record: ConsumerRecord) -> bool:
    try:
        from_kafka(record.value, list(record.headers))
    except (MalformedEvent, UnknownEvent):
        return False
    return True


async def test_a_malformed_message_goes_to_the_dead_letter_topic_and_its_partition_moves_on(
    platform: Platform, tenant: TenantKey, tenant_api: httpx.AsyncClient
) -> None:
    community_id = await new_community(tenant_api)
    (member_id,) = await new_members(tenant_api, 1)
    # Keyed like the member's own events, so the poison sits in the same partition, right before their join.
    key = f"{tenant.tenant_id}:{member_id}".encode()
    poison_headers = [
        ("ce_specversion", b"1.0"),
        ("ce_id", b"poison-1"),
        ("ce_source", b"test"),
        ("ce_type", b"member.joined"),
        ("ce_tenantid", tenant.tenant_id.encode()),
        ("ce_dataversion", b"1"),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=platform.kafka)
    await producer.start()
    try:
        await producer.send_and_wait(f"{platform.prefix}.member", b"{not json", key=key, headers=poison_headers)
        await producer.send_and_wait(f"{platform.prefix}.member", b"no headers at all", key=key)
    finally:
        await producer.stop()

    assert (await join(tenant_api, community_id, member_id)).status_code == 201
    await wait_for_count(tenant_api, community_id, 1)

    def parked_by(consumer: bytes, records: list[ConsumerRecord]) -> list[dict[str, bytes]]:
        return [dict(r.headers) for r in records if dict(r.headers).get("dlq_consumer") == consumer and r.key == key]

    def all_parked(records: list[ConsumerRecord]) -> bool:
        return all(len(parked_by(c, records)) >= 2 for c in (b"analytics-svc", b"content-svc", b"campaign-svc"))

    records = await platform.read_topic("deadletter", until=all_parked)
    analytics_parked = parked_by(b"analytics-svc", records)
    assert len(analytics_parked) == 2
    assert all(h["dlq_error"].startswith(b"MalformedEvent") for h in analytics_parked)
    assert {h["dlq_source"].rsplit(b"/", 2)[0] for h in analytics_parked} == {f"{platform.prefix}.member".encode()}
