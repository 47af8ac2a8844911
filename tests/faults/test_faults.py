"""Faults: Kafka down, a consumer killed mid-stream, a malformed message. Nothing lost, nothing twice."""

import asyncio

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from qunyun_shared.testing import KAFKA_BOOTSTRAP, Platform, kafka_control
from tests.e2e.helpers import join, new_community, new_members, wait_for_count

pytestmark = pytest.mark.faults


async def test_joins_are_accepted_while_kafka_is_down_and_counted_once_after(
    platform: Platform, tenant_api: httpx.AsyncClient
) -> None:
    community_id = await new_community(tenant_api)
    members = await new_members(tenant_api, 20)
    await asyncio.to_thread(kafka_control, "stop")
    try:
        for member_id in members:
            assert (await join(tenant_api, community_id, member_id)).status_code == 201
        assert (await tenant_api.get(f"/communities/{community_id}")).json()["member_count"] == 20
    finally:
        await asyncio.to_thread(kafka_control, "start")
    await wait_for_count(tenant_api, community_id, 20, timeout=120)


async def test_analytics_killed_mid_stream_loses_nothing_and_counts_nothing_twice(
    platform: Platform, tenant_api: httpx.AsyncClient
) -> None:
    community_id = await new_community(tenant_api)
    members = await new_members(tenant_api, 60)
    analytics = platform.services["analytics-svc"]

    for index, member_id in enumerate(members):
        assert (await join(tenant_api, community_id, member_id)).status_code == 201
        if index == 20:
            analytics.kill()
    analytics.start()
    await analytics.wait_ready()
    await wait_for_count(tenant_api, community_id, 60, timeout=90)


async def test_a_malformed_message_goes_to_the_dead_letter_topic_and_consumption_continues(
    platform: Platform, tenant_api: httpx.AsyncClient
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA_BOOTSTRAP)
    await producer.start()
    try:
        poison_headers = [
            ("ce_specversion", b"1.0"),
            ("ce_id", b"poison-1"),
            ("ce_source", b"test"),
            ("ce_type", b"member.joined"),
            ("ce_tenantid", b"t"),
            ("ce_dataversion", b"1"),
        ]
        await producer.send_and_wait(f"{platform.prefix}.member", b"{not json", key=b"t:poison", headers=poison_headers)
        await producer.send_and_wait(f"{platform.prefix}.member", b"no headers at all", key=b"t:poison")
    finally:
        await producer.stop()

    community_id = await new_community(tenant_api)
    (member_id,) = await new_members(tenant_api, 1)
    assert (await join(tenant_api, community_id, member_id)).status_code == 201
    await wait_for_count(tenant_api, community_id, 1)

    def parked(records: list[object]) -> bool:
        consumers = {dict(r.headers).get("dlq_consumer") for r in records}  # type: ignore[attr-defined]
        return {b"analytics-svc", b"content-svc", b"campaign-svc"} <= consumers and len(records) >= 6

    records = await platform.read_topic("deadletter", until=parked)
    analytics_parked = [dict(r.headers) for r in records if dict(r.headers)["dlq_consumer"] == b"analytics-svc"]  # type: ignore[attr-defined]
    assert len(analytics_parked) == 2
    assert all(h["dlq_error"].startswith(b"MalformedEvent") for h in analytics_parked)
    assert {h["dlq_source"].split(b"/")[0] for h in analytics_parked} == {f"{platform.prefix}.member".encode()}
