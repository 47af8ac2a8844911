"""Analytics rebuilt from the topics: a consumer replaying them from offset zero into an empty database, in
batches of another size, computes exactly the numbers of the one that consumed them live."""

import asyncio
import random
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from analytics_svc.cohorts import service as cohorts
from analytics_svc.db import MESSAGING
from analytics_svc.handlers import HANDLERS
from analytics_svc.kpis import service as kpis
from analytics_svc.kpis.catalogue import NAMES
from analytics_svc.models import Base
from analytics_svc.referrals import service as referrals
from qunyun_shared.events import new_event
from qunyun_shared.events.base import spec_for
from qunyun_shared.events.kafka_binding import to_kafka
from qunyun_shared.inbox import EventConsumer
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import eventually
from qunyun_shared.topics import create_topics, topic_for
from tests.support.community_life import COMMUNITIES, DAYS, START, community_life
from tests.support.harness import KAFKA_BOOTSTRAP, scratch_database

pytestmark = pytest.mark.integration

TENANT = "tenant-replay"


@pytest_asyncio.fixture
async def databases() -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    async with scratch_database(Base.metadata) as live, scratch_database(Base.metadata) as rebuilt:
        yield live, rebuilt


async def consume(engine: AsyncEngine, prefix: str, name: str, expected: int, batch_size: int) -> None:
    """A consumer group of its own, from offset zero, until every event is in its inbox."""
    consumer = EventConsumer(
        name=name,
        engine=engine,
        inbox=MESSAGING.inbox,
        handlers=HANDLERS,
        bootstrap_servers=KAFKA_BOOTSTRAP,
        topic_prefix=prefix,
        outbox=Outbox(table=MESSAGING.outbox, source="analytics-svc", topic_prefix=prefix),
        batch_size=batch_size,
    )
    task = asyncio.create_task(consumer.run())

    async def all_in() -> None:
        async with engine.connect() as connection:
            assert await connection.scalar(select(func.count()).select_from(MESSAGING.inbox)) == expected

    try:
        await eventually(all_in, timeout=120)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def numbers(engine: AsyncEngine) -> dict[str, Any]:
    """Every KPI by day, week and month for the tenant and each community, and the cohort views."""
    end = START + timedelta(DAYS - 1)
    found: dict[str, Any] = {}
    async with AsyncSession(engine) as session:
        for name in NAMES:
            for scope in (None, *COMMUNITIES):
                for granularity in ("day", "week", "month"):
                    series = await kpis.series(
                        session=session,
                        tenant_id=TENANT,
                        name=name,
                        start=START,
                        end=end,
                        granularity=granularity,
                        community_id=scope,
                    )  # type: ignore[arg-type]
                    found[f"{name}/{scope}/{granularity}"] = [(p.start, value) for p, value in series]
        found["retention"] = [
            (r.cohort, r.members, r.values)
            for r in await cohorts.retention(
                session=session, tenant_id=TENANT, start=START, end=end, granularity="week"
            )
        ]
        found["revenue"] = [
            (r.cohort, r.members, r.values)
            for r in await cohorts.revenue(session=session, tenant_id=TENANT, start=START, end=end, granularity="week")
        ]
        found["funnel"] = await cohorts.funnel(session=session, tenant_id=TENANT, start=START, end=end)
        found["referrals"] = await referrals.referrals(session=session, tenant_id=TENANT, start=START, end=end)
    return found


async def test_a_replay_from_offset_zero_gives_the_numbers_of_live_consumption(
    databases: tuple[AsyncEngine, AsyncEngine],
) -> None:
    live, rebuilt = databases
    prefix = f"it{secrets.token_hex(4)}"
    await create_topics(KAFKA_BOOTSTRAP, prefix)
    events = community_life(random.Random(11))
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA_BOOTSTRAP, linger_ms=5)
    await producer.start()
    try:
        for payload in events:
            record = to_kafka(new_event(source="test", tenant_id=TENANT, payload=payload))
            topic = topic_for(prefix, spec_for(type(payload)))
            await producer.send(topic, record.value, key=record.key, headers=record.headers)
        await producer.flush()
    finally:
        await producer.stop()

    await consume(live, prefix, f"{prefix}-live", len(events), batch_size=17)
    await consume(rebuilt, prefix, f"{prefix}-replay", len(events), batch_size=5_000)
    expected, replayed = await numbers(live), await numbers(rebuilt)
    assert expected["members_total/None/month"][0][1] > 50  # a real month, not an empty one
    assert expected["gmv_fen/None/month"][0][1] > 0
    assert expected["referrals"].invites_sent > 0 and expected["referrals"].campaigns[0].reach.referred_joins > 0
    assert replayed == expected
