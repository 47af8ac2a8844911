"""Faults of the consumer's dependencies, on the real processes: the database stopped or refusing
connections, the broker killed, an event its handler refuses. Nothing lost, nothing twice, nothing parked
that was not the event's own fault."""

import asyncio
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import text

from qunyun_shared.db import create_engine
from qunyun_shared.deadletters import Selection, list_dead_letters
from qunyun_shared.events import new_event
from qunyun_shared.events.campaign import CampaignStartedV1
from qunyun_shared.events.catalogue import spec_for
from qunyun_shared.events.kafka_binding import to_kafka
from qunyun_shared.events.member import MemberJoinedV1
from qunyun_shared.testing import eventually
from qunyun_shared.topics import topic_for
from tests.faults.infrastructure import FaultInfrastructure
from tests.support.harness import Platform

pytestmark = pytest.mark.faults

ANALYTICS = "analytics-svc"


def joins(community_id: uuid.UUID, count: int) -> list[MemberJoinedV1]:
    return [
        MemberJoinedV1(member_id=uuid.uuid4(), community_id=community_id, channel="qr", joined_at=datetime.now(UTC))
        for _ in range(count)
    ]


async def counted(http: httpx.AsyncClient, platform: Platform, tenant_id: str, community_id: uuid.UUID) -> int:
    response = await http.get(
        f"{platform.url(ANALYTICS)}/analytics/communities/{community_id}/members",
        headers=platform.identity_header(tenant_id),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["joined_total"] == body["members"], body  # each join counted once
    return int(body["members"])


async def wait_counted(
    http: httpx.AsyncClient, platform: Platform, tenant_id: str, community_id: uuid.UUID, expected: int
) -> None:
    async def all_counted() -> None:
        assert await counted(http, platform, tenant_id, community_id) == expected

    await eventually(all_counted, timeout=120, interval=0.5)


async def metric(http: httpx.AsyncClient, platform: Platform, name: str, **labels: str) -> float:
    """The sum of a metric's samples of analytics-svc matching `labels`, from its /metrics."""
    text = (await http.get(f"{platform.url(ANALYTICS)}/metrics")).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def readiness(http: httpx.AsyncClient, platform: Platform) -> dict[str, Any]:
    try:
        response = await http.get(f"{platform.url(ANALYTICS)}/readyz", timeout=5)
    except httpx.TransportError as exc:
        return {"status": "unreachable", "checks": {"http": repr(exc)}}
    return dict(response.json())


def analytics_database(platform: Platform) -> str:
    return platform.databases[ANALYTICS].rsplit("/", 1)[1]


async def test_postgresql_stopped_for_ten_seconds_loses_and_parks_nothing(
    platform: Platform, fault_infrastructure: FaultInfrastructure, http: httpx.AsyncClient
) -> None:
    tenant_id, community_id = f"t-{secrets.token_hex(4)}", uuid.uuid4()
    parked_before = await metric(http, platform, "qunyun_events_dead_lettered_total")
    stalls_before = await metric(http, platform, "qunyun_background_stalls_total", loop="consumer")
    await asyncio.to_thread(fault_infrastructure.postgres, "stop")
    stopped_at = time.monotonic()
    try:
        await platform.publish("member-svc", tenant_id, *joins(community_id, 300))

        async def stalled() -> None:
            ready = await readiness(http, platform)
            assert ready["status"] == "not_ready", ready
            assert ready["checks"].get("consumer", "").startswith("stalled: "), ready

        await eventually(stalled, timeout=30)
        await asyncio.sleep(max(0.0, 10 - (time.monotonic() - stopped_at)))  # the outage lasts its 10 s
    finally:
        await asyncio.to_thread(fault_infrastructure.postgres, "start")
    await wait_counted(http, platform, tenant_id, community_id, 300)
    await platform.publish("member-svc", tenant_id, *joins(community_id, 10))
    await wait_counted(http, platform, tenant_id, community_id, 310)
    assert await metric(http, platform, "qunyun_events_dead_lettered_total") == parked_before
    assert await metric(http, platform, "qunyun_background_stalls_total", loop="consumer") > stalls_before
    assert (await readiness(http, platform))["status"] in ("ready", "degraded")


async def test_analytics_database_refusing_connections_for_two_seconds_loses_and_parks_nothing(
    platform: Platform, fault_infrastructure: FaultInfrastructure, http: httpx.AsyncClient
) -> None:
    tenant_id, community_id = f"t-{secrets.token_hex(4)}", uuid.uuid4()
    parked_before = await metric(http, platform, "qunyun_events_dead_lettered_total")
    database = analytics_database(platform)
    await asyncio.to_thread(fault_infrastructure.refuse_connections, database)
    try:
        await platform.publish("member-svc", tenant_id, *joins(community_id, 100))
        await asyncio.sleep(2)  # the outage lasts its 2 s
    finally:
        await asyncio.to_thread(fault_infrastructure.accept_connections, database)
    await wait_counted(http, platform, tenant_id, community_id, 100)
    assert await metric(http, platform, "qunyun_events_dead_lettered_total") == parked_before


async def test_kafka_killed_mid_traffic_loses_and_doubles_no_accepted_join(
    platform: Platform, fault_infrastructure: FaultInfrastructure, http: httpx.AsyncClient
) -> None:
    tenant = await platform.new_tenant(http)
    members_url, caller = platform.url("member-svc"), platform.identity_header(tenant.tenant_id)
    community = await http.post(
        f"{members_url}/communities", json={"name": "故障群", "kind": "vertical", "capacity": 1000}, headers=caller
    )
    assert community.status_code == 201, community.text
    community_id = uuid.UUID(community.json()["id"])
    members = []
    for index in range(120):
        created = await http.post(f"{members_url}/members", json={"nickname": f"m{index}"}, headers=caller)
        assert created.status_code == 201, created.text
        members.append(created.json()["id"])

    async def join(member_id: str) -> int:
        response = await http.post(
            f"{members_url}/communities/{community_id}/members",
            json={"member_id": member_id, "channel": "qr"},
            headers=caller,
        )
        return response.status_code

    statuses = [await join(m) for m in members[:40]]
    await asyncio.to_thread(fault_infrastructure.kafka, "kill")
    try:
        statuses += [await join(m) for m in members[40:80]]

        async def broker_down() -> None:
            ready = await readiness(http, platform)
            assert ready["checks"]["kafka"].startswith("degraded"), ready
            assert ready["status"] == "degraded", ready

        await eventually(broker_down, timeout=30)
        statuses += [await join(m) for m in members[80:]]
    finally:
        await asyncio.to_thread(fault_infrastructure.kafka, "start")
    assert statuses == [201] * len(members)
    await wait_counted(http, platform, tenant.tenant_id, community_id, len(members))


async def test_an_event_its_handler_refuses_is_parked_and_the_events_behind_it_go_on(
    platform: Platform, fault_infrastructure: FaultInfrastructure, http: httpx.AsyncClient
) -> None:
    await poison_among_valid_runs(platform, fault_infrastructure, http)
    analytics = platform.services[ANALYTICS]  # and again, with the consumer started anew
    analytics.kill()
    analytics.start()
    await analytics.wait_ready()
    await poison_among_valid_runs(platform, fault_infrastructure, http)


async def poison_among_valid_runs(
    platform: Platform, fault_infrastructure: FaultInfrastructure, http: httpx.AsyncClient
) -> None:
    """A campaign's start whose name is longer than analytics' column holds (its database refuses the row
    every time), between well-formed starts of other campaigns, all on one key: one partition, in order."""
    tenant_id = f"t-{secrets.token_hex(4)}"
    refused, *valid = [
        CampaignStartedV1(campaign_id=uuid.uuid4(), kind="referral", name=name, started_at=datetime.now(UTC))
        for name in ("超长活动名" * 30, "会员日", "周三闪购", "拼团", "签到", "抽奖")
    ]
    ids = await publish_on_one_key(platform, tenant_id, [refused, *valid])
    await wait_for_runs(platform, {run.campaign_id for run in valid})

    async def parked() -> None:
        letters = await list_dead_letters(
            fault_infrastructure.kafka_bootstrap, platform.prefix, Selection(consumer=ANALYTICS)
        )
        [letter] = [letter for letter in letters if letter.event_id == ids[0]]
        assert letter.event_type == "campaign.started"
        assert "value too long for type character varying(100)" in letter.error, letter.error

    await eventually(parked, timeout=60)
    assert await recorded_runs(platform, {refused.campaign_id}) == set()


async def publish_on_one_key(platform: Platform, tenant_id: str, payloads: list[CampaignStartedV1]) -> list[str]:
    """Publishes as campaign-svc would, but every event under the first one's key; returns their ids."""
    envelopes = [new_event(source="campaign-svc", tenant_id=tenant_id, payload=p) for p in payloads]
    producer = AIOKafkaProducer(bootstrap_servers=platform.kafka)
    await producer.start()
    try:
        for envelope in envelopes:
            record = to_kafka(envelope)
            topic = topic_for(platform.prefix, spec_for(CampaignStartedV1))
            await producer.send_and_wait(
                topic, record.value, key=envelopes[0].partitionkey.encode(), headers=record.headers
            )
    finally:
        await producer.stop()
    return [envelope.id for envelope in envelopes]


async def recorded_runs(platform: Platform, campaign_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """The campaigns of `campaign_ids` analytics has a run of, read from its own database."""
    engine = create_engine(platform.databases[ANALYTICS])
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT campaign_id FROM campaign_runs WHERE campaign_id = ANY(:ids)"), {"ids": list(campaign_ids)}
            )
            return {row.campaign_id for row in rows}
    finally:
        await engine.dispose()


async def wait_for_runs(platform: Platform, campaign_ids: set[uuid.UUID]) -> None:
    async def recorded() -> None:
        assert await recorded_runs(platform, campaign_ids) == campaign_ids

    await eventually(recorded, timeout=60, interval=0.5)
