"""The sweep judging members only imported history touched, on real PostgreSQL: its chunk written from column
arrays with the guards of a refit's decisions, and a member a live batch rescores while the sweep waits for
their row keeping the batch's judgement, announced once."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from analytics_svc.db import MESSAGING
from analytics_svc.handlers import on_measured
from analytics_svc.ingestion.models import MemberFacts
from analytics_svc.models import Base
from analytics_svc.scoring import marks, roster
from analytics_svc.scoring.decisions import Decision, write_decisions
from qunyun_shared.events import EventPayload, new_event
from qunyun_shared.events.content import ContentEngagedV1
from qunyun_shared.events.member import MemberJoinedV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import eventually, staged_events
from tests.support.harness import scratch_database

pytestmark = pytest.mark.integration

OUTBOX = Outbox(table=MESSAGING.outbox, source="analytics-svc", topic_prefix="qunyun")
TENANT = "tenant-marks-pg"
COMMUNITY = uuid.UUID(int=3)
LOCK_WAIT = 20.0


@pytest_asyncio.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    async with scratch_database(Base.metadata) as database:
        yield database


async def in_transaction(engine: AsyncEngine, work: Any) -> Any:
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        return await work(session)


async def consume(session: AsyncSession, *payloads: EventPayload, imported: bool) -> None:
    await on_measured(
        session, OUTBOX, [new_event(source="test", tenant_id=TENANT, payload=p, imported=imported) for p in payloads]
    )


def joined(member_id: uuid.UUID, days_ago: int) -> MemberJoinedV1:
    at = datetime.now(UTC) - timedelta(days=days_ago)
    return MemberJoinedV1(member_id=member_id, community_id=COMMUNITY, channel="qr", joined_at=at)


async def a_tenant_with_history(engine: AsyncEngine) -> list[uuid.UUID]:
    """Eight members joined live (the first fit), then three members' year-old joins imported."""
    crowd = [uuid.uuid4() for _ in range(8)]
    history = [uuid.uuid4() for _ in range(3)]

    async def seed(session: AsyncSession) -> None:
        await consume(session, *(joined(m, 1) for m in crowd), imported=False)
        await consume(session, *(joined(m, 365) for m in history), imported=True)

    await in_transaction(engine, seed)
    return history


async def facts(engine: AsyncEngine, member_ids: list[uuid.UUID]) -> list[MemberFacts]:
    async with AsyncSession(engine) as session:
        found = await session.scalars(
            select(MemberFacts).where(MemberFacts.member_id.in_(member_ids)).order_by(MemberFacts.member_id)
        )
        return list(found)


async def said_of(engine: AsyncEngine, member_id: uuid.UUID) -> list[tuple[str, Any]]:
    async with AsyncSession(engine) as session:
        return [(t, p) for t, p in await staged_events(session, MESSAGING.outbox) if p.member_id == member_id]


async def sweep(session: AsyncSession) -> int:
    return await marks.rescore_next(session=session, outbox=OUTBOX, now=datetime.now(UTC), quiet=timedelta(0))


async def test_the_sweep_judges_a_chunk_and_takes_back_only_the_marks_it_read(engine: AsyncEngine) -> None:
    history = await a_tenant_with_history(engine)
    assert all(f.rescore_marked_at is not None and f.segment is None for f in await facts(engine, history))
    assert await in_transaction(engine, sweep) == len(history)
    judged = await facts(engine, history)
    assert [(f.segment, f.churn_flagged, f.rescore_marked_at) for f in judged] == [("churn_risk", True, None)] * 3
    for member_id in history:
        assert [t for t, _ in await said_of(engine, member_id)] == ["member.segment_changed", "member.churn_risk"]
    assert await in_transaction(engine, sweep) == 0

    # A decision that read an older mark than the member now has leaves the newer one.
    async def decide_on_an_older_mark(session: AsyncSession) -> None:
        member_id = history[0]
        await session.execute(
            update(MemberFacts).where(MemberFacts.member_id == member_id).values(rescore_marked_at=datetime.now(UTC))
        )
        read = await roster.of_tenant(session=session, tenant_id=TENANT, now=datetime.now(UTC))
        i = read.member_ids.index(member_id)
        newer = datetime.now(UTC) + timedelta(seconds=5)
        await session.execute(
            update(MemberFacts).where(MemberFacts.member_id == member_id).values(rescore_marked_at=newer)
        )
        decision = Decision(read.numbers[i], member_id, read.scored_at[i], "churn_risk", True, unmarks=read.marked[i])
        assert await write_decisions(session=session, decisions=[decision], now=datetime.now(UTC)) == {read.numbers[i]}
        assert (
            await session.scalar(select(MemberFacts.rescore_marked_at).where(MemberFacts.number == read.numbers[i]))
        ) == newer
        decision = Decision(read.numbers[i], member_id, None, "churn_risk", True, unmarks=read.marked[i])
        # The decision it replaces has changed (the write above): nothing is written.
        assert await write_decisions(session=session, decisions=[decision], now=datetime.now(UTC)) == set()

    await in_transaction(engine, decide_on_an_older_mark)


async def test_a_member_a_live_batch_rescores_while_the_sweep_waits_keeps_the_batchs_judgement(
    engine: AsyncEngine,
) -> None:
    history = await a_tenant_with_history(engine)
    woken = history[0]
    like = ContentEngagedV1(content_id=uuid.uuid4(), member_id=woken, action="like", occurred_at=datetime.now(UTC))
    async with AsyncSession(engine, expire_on_commit=False) as live, live.begin():
        await consume(live, like, imported=False)  # holds the member's row
        sweeping = asyncio.create_task(in_transaction(engine, sweep))

        async def blocked() -> None:
            async with engine.connect() as connection:
                waiting = await connection.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                    )
                )
            assert waiting, "the sweep is not waiting for the member's row"

        await eventually(blocked, timeout=LOCK_WAIT)
    assert await asyncio.wait_for(sweeping, LOCK_WAIT) == len(history)
    [woken_facts] = await facts(engine, [woken])
    assert woken_facts.segment != "churn_risk" and woken_facts.rescore_marked_at is None
    # Judged once, by their live batch: the sweep's older judgement was neither written nor announced.
    assert [(t, p.to_segment) for t, p in await said_of(engine, woken)] == [
        ("member.segment_changed", woken_facts.segment)
    ]
    others = await facts(engine, history[1:])
    assert all(f.segment == "churn_risk" and f.rescore_marked_at is None for f in others)
