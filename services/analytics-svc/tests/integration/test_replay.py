"""Analytics rebuilt from the topics: a consumer replaying them from offset zero into an empty database, in
batches of another size, computes exactly the numbers of the one that consumed them live."""

import asyncio
import random
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from analytics_svc import cohorts, kpis
from analytics_svc.activity import REPORT_ZONE
from analytics_svc.handlers import HANDLERS
from analytics_svc.models import MESSAGING, Base
from qunyun_shared.db import create_engine
from qunyun_shared.events import EventPayload, new_event
from qunyun_shared.events.base import spec_for
from qunyun_shared.events.campaign import CheckinRecordedV1, OrderPaidV1, OrderPlacedV1, OrderRefundedV1
from qunyun_shared.events.content import ContentEngagedV1, ContentPostedV1, SurveyAnsweredV1
from qunyun_shared.events.kafka_binding import to_kafka
from qunyun_shared.events.member import MemberJoinedV1, MemberLeftV1
from qunyun_shared.inbox import EventConsumer
from qunyun_shared.outbox import Outbox
from qunyun_shared.topics import topic_for
from tests.support.harness import KAFKA_BOOTSTRAP, create_database, create_topics, drop_database, eventually

pytestmark = pytest.mark.integration

TENANT = "tenant-replay"
START = date(2026, 2, 2)
DAYS = 28
COMMUNITIES = [uuid.UUID(int=n) for n in (1, 2, 3)]


def at(day: int, minute: int) -> datetime:
    moment = datetime(START.year, START.month, START.day, 8, tzinfo=REPORT_ZONE)
    return moment + timedelta(days=day, minutes=minute)


def community_life(rng: random.Random, members: int = 120) -> list[EventPayload]:
    """A month of three communities: joins (some invited), posts, reads and likes, check-ins, orders paid and
    refunded, NPS answers, and leaves, each member's events in their order."""
    events: list[EventPayload] = []
    posts = [uuid.uuid4() for _ in range(12)]
    for n, content_id in enumerate(posts):
        events.append(
            ContentPostedV1(
                content_id=content_id,
                community_id=COMMUNITIES[n % 3],
                content_type="activity" if n % 4 == 0 else "knowledge",
                source="PGC",
                posted_at=at(n, 0),
            )
        )
    joined: list[uuid.UUID] = []
    for n in range(members):
        member_id, day = uuid.uuid4(), rng.randrange(DAYS - 7)
        community = rng.choice(COMMUNITIES)
        inviter = rng.choice(joined) if joined and rng.random() < 0.3 else None
        events.append(
            MemberJoinedV1(
                member_id=member_id, community_id=community, channel="qr", inviter_id=inviter, joined_at=at(day, n)
            )
        )
        joined.append(member_id)
        for later in sorted(rng.sample(range(day, DAYS), k=rng.randrange(0, 6))):
            content_id = rng.randrange(len(posts))
            events.append(
                ContentEngagedV1(
                    content_id=posts[content_id],
                    member_id=member_id,
                    community_id=COMMUNITIES[content_id % 3],
                    content_type="activity" if content_id % 4 == 0 else "knowledge",
                    action=rng.choice(["view", "view", "like", "comment", "share"]),
                    occurred_at=at(later, n + 1),
                )
            )
        if rng.random() < 0.3:
            events.append(
                CheckinRecordedV1(
                    campaign_id=uuid.UUID(int=9), member_id=member_id, day=START + timedelta(day + 1), streak=1
                )
            )
        for order_day in sorted(rng.sample(range(day, DAYS), k=rng.choice([0, 0, 1, 1, 2, 3]))):
            order_id, amount = uuid.uuid4(), rng.randrange(1_000, 50_000)
            events.append(
                OrderPlacedV1(
                    order_id=order_id,
                    member_id=member_id,
                    community_id=community,
                    amount_fen=amount,
                    placed_at=at(order_day, n + 2),
                )
            )
            events.append(
                OrderPaidV1(order_id=order_id, member_id=member_id, amount_fen=amount, paid_at=at(order_day, n + 3))
            )
            if rng.random() < 0.1:
                events.append(
                    OrderRefundedV1(
                        order_id=order_id, member_id=member_id, amount_fen=amount // 2, refunded_at=at(order_day + 1, n)
                    )
                )
        if rng.random() < 0.4:
            events.append(
                SurveyAnsweredV1(
                    survey_id=uuid.UUID(int=8), member_id=member_id, community_id=community, nps=rng.randrange(11)
                )
            )
        if rng.random() < 0.15:
            events.append(
                MemberLeftV1(member_id=member_id, community_id=community, reason="left", left_at=at(DAYS - 1, n))
            )
    return events


@pytest_asyncio.fixture
async def databases() -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    names = [f"it_{secrets.token_hex(4)}" for _ in range(2)]
    engines = [create_engine(await create_database(name)) for name in names]
    for engine in engines:
        async with engine.begin() as connection:
            await connection.run_sync(Base.metadata.create_all)
    yield engines[0], engines[1]
    for engine, name in zip(engines, names, strict=True):
        await engine.dispose()
        await drop_database(name)


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
        for name in kpis.NAMES:
            for scope in (None, *COMMUNITIES):
                for granularity in ("day", "week", "month"):
                    series = await kpis.series(session, TENANT, name, START, end, granularity, scope)  # type: ignore[arg-type]
                    found[f"{name}/{scope}/{granularity}"] = [(p.start, value) for p, value in series]
        found["retention"] = [
            (r.cohort, r.members, r.values) for r in await cohorts.retention(session, TENANT, START, end, "week")
        ]
        found["revenue"] = [
            (r.cohort, r.members, r.values) for r in await cohorts.revenue(session, TENANT, START, end, "week")
        ]
        found["funnel"] = await cohorts.funnel(session, TENANT, START, end)
        found["referrals"] = await cohorts.referrals(session, TENANT, START, end)
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
    assert replayed == expected
