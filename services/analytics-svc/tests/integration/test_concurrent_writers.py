"""Replicas writing analytics at once, on real PostgreSQL with real concurrent transactions: the periodic
refit against live ingestion, refit jobs against a refit under way and against each other, two consumers creating
one member's or one content item's facts, and an erasure against events of the member being erased.

Each test holds one transaction open, starts the other in a task, waits until that task is blocked on a
lock (or done, where a defect would let it through) and then commits the first."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from analytics_svc import erasure, locks
from analytics_svc.db import MESSAGING
from analytics_svc.handlers import HANDLERS
from analytics_svc.ingestion import service as ingestion
from analytics_svc.ingestion.models import ContentFact, MemberCommunity, MemberFacts, OrderFact
from analytics_svc.models import Base
from analytics_svc.scoring import api as scoring_api
from analytics_svc.scoring import refits, segments
from analytics_svc.scoring.models import RefitJob
from qunyun_shared.db import create_sessionmaker
from qunyun_shared.events import EventPayload, new_event
from qunyun_shared.events.campaign import Attribution, OrderPaidV1, OrderPlacedV1
from qunyun_shared.events.content import ContentEngagedV1, ContentPostedV1
from qunyun_shared.events.member import MemberJoinedV1
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import eventually, routes_client, staged_events
from tests.support.harness import scratch_database

pytestmark = pytest.mark.integration

OUTBOX = Outbox(table=MESSAGING.outbox, source="analytics-svc", topic_prefix="qunyun")
TENANT = "tenant-concurrent"
COMMUNITY = uuid.UUID(int=1)
LOCK_WAIT = 20.0


@pytest_asyncio.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    async with scratch_database(Base.metadata) as database:
        yield database


async def deliver(session: AsyncSession, *payloads: EventPayload) -> None:
    """One consumer batch of one handler, in the session's transaction."""
    envelopes = [new_event(source="test", tenant_id=TENANT, payload=p) for p in payloads]
    await HANDLERS[envelopes[0].type](session, OUTBOX, envelopes)


async def blocked_or_done(engine: AsyncEngine, task: "asyncio.Task[Any]") -> None:
    """Waits until `task` has finished or a transaction of the test's database is waiting on a lock."""

    async def stopped() -> None:
        if task.done():
            return
        async with engine.connect() as connection:
            waiting = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        assert waiting, "still running, not blocked"

    await eventually(stopped, timeout=LOCK_WAIT)


async def in_transaction(engine: AsyncEngine, work: Any) -> Any:
    """Runs `work(session)` in a transaction of its own and commits it."""
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        return await work(session)


def silent_members(count: int) -> list[uuid.UUID]:
    """Members whose ids fall in descending order, so that they are stored in the opposite order of
    their ids: a writer that locks rows in storage order takes them in the reverse of id order."""
    return sorted((uuid.uuid4() for _ in range(count)), reverse=True)


async def a_fitted_tenant_of_silent_members(engine: AsyncEngine, crowd: list[uuid.UUID]) -> None:
    """The crowd joined 100 days ago and has been silent since: the first fit flags them all."""
    long_ago = datetime.now(UTC) - timedelta(days=100)
    joins = [MemberJoinedV1(member_id=m, community_id=COMMUNITY, channel="qr", joined_at=long_ago) for m in crowd]

    async def join(session: AsyncSession) -> None:
        await deliver(session, *joins)

    await in_transaction(engine, join)


def like_now(member_id: uuid.UUID) -> ContentEngagedV1:
    return ContentEngagedV1(
        content_id=uuid.uuid4(),
        member_id=member_id,
        community_id=COMMUNITY,
        action="like",
        occurred_at=datetime.now(UTC),
    )


async def facts_of(engine: AsyncEngine, member_id: uuid.UUID) -> MemberFacts | None:
    async with AsyncSession(engine) as session:
        return await session.scalar(select(MemberFacts).where(MemberFacts.member_id == member_id))


async def announced(engine: AsyncEngine, event_type: str, member_id: uuid.UUID) -> list[Any]:
    async with AsyncSession(engine) as session:
        staged = await staged_events(session, MESSAGING.outbox)
    return [payload for type_, payload in staged if type_ == event_type and payload.member_id == member_id]


async def refit(engine: AsyncEngine) -> "asyncio.Task[int]":
    """The full recompute of the tenant, committed, in a task of its own."""

    async def recompute(session: AsyncSession) -> int:
        return await segments.recompute(session=session, outbox=OUTBOX, tenant_id=TENANT, now=datetime.now(UTC))

    return asyncio.create_task(in_transaction(engine, recompute))


async def test_a_refit_keeps_a_score_ingestion_wrote_after_the_refit_read_the_member(engine: AsyncEngine) -> None:
    crowd = silent_members(20)
    await a_fitted_tenant_of_silent_members(engine, crowd)
    woken = crowd[-1]
    async with AsyncSession(engine) as live:
        async with live.begin():
            await deliver(live, like_now(woken))  # active again: out of churn risk, while the refit runs
            refitting = await refit(engine)
            await blocked_or_done(engine, refitting)
        assert await asyncio.wait_for(refitting, LOCK_WAIT) == len(crowd)

    rescored = await facts_of(engine, woken)
    assert rescored is not None and rescored.segment == "potential" and not rescored.churn_flagged
    changes = await announced(engine, "member.segment_changed", woken)
    # The first fit's segment, then the change, announced once, by ingestion: the refit neither overwrote
    # it nor announced it again.
    assert [(c.from_segment, c.to_segment) for c in changes] == [(None, "churn_risk"), ("churn_risk", "potential")]
    other = await facts_of(engine, crowd[0])
    assert other is not None and other.segment == "churn_risk"


async def test_a_refit_and_ingestion_taking_members_one_batch_at_a_time_do_not_deadlock(
    engine: AsyncEngine,
) -> None:
    crowd = silent_members(20)
    await a_fitted_tenant_of_silent_members(engine, crowd)
    lowest, highest = crowd[-1], crowd[0]
    async with AsyncSession(engine) as live:
        async with live.begin():
            await deliver(live, like_now(lowest))
            refitting = await refit(engine)
            await blocked_or_done(engine, refitting)
            # A second batch in the same transaction reaches the member of the highest id, stored first.
            await asyncio.wait_for(deliver(live, like_now(highest)), LOCK_WAIT)
        await asyncio.wait_for(refitting, LOCK_WAIT)

    for member_id in (lowest, highest):
        facts = await facts_of(engine, member_id)
        assert facts is not None and facts.segment == "potential"


async def job_of(engine: AsyncEngine, job_id: str) -> RefitJob:
    async with AsyncSession(engine) as session:
        job = await session.get(RefitJob, uuid.UUID(job_id))
        assert job is not None
        return job


async def ask_for_a_refit(session: AsyncSession) -> str:
    analyst = Identity(tenant_id=TENANT, principal="analyst", permissions=frozenset({"analytics:write"}))
    async with routes_client(session, [scoring_api.router], lambda: analyst, OUTBOX) as http:
        accepted = await asyncio.wait_for(http.post("/analytics/segments/recompute"), LOCK_WAIT)
    assert accepted.status_code == 202, accepted.text
    return str(accepted.json()["id"])


async def test_a_refit_asked_for_while_one_runs_is_queued_at_once_and_runs_after_it_and_the_sweep_skips_the_tenant(
    engine: AsyncEngine,
) -> None:
    await a_fitted_tenant_of_silent_members(engine, silent_members(5))
    async with AsyncSession(engine) as running:
        async with running.begin():
            await segments.recompute(session=running, outbox=OUTBOX, tenant_id=TENANT, now=datetime.now(UTC))
            async with AsyncSession(engine) as request, request.begin():  # takes no lock: answered at once
                job_id = await ask_for_a_refit(request)
            async with AsyncSession(engine) as sweep, sweep.begin():
                later = datetime.now(UTC) + timedelta(days=1)
                done = await asyncio.wait_for(
                    segments.refit_next(session=sweep, outbox=OUTBOX, now=later, every=timedelta(hours=1)), LOCK_WAIT
                )
                assert done == 0
            working = asyncio.create_task(refits.run_next(sessionmaker=create_sessionmaker(engine), outbox=OUTBOX))
            await blocked_or_done(engine, working)
            assert not working.done() and (await job_of(engine, job_id)).status == "running"
        assert await asyncio.wait_for(working, LOCK_WAIT)
    assert (await job_of(engine, job_id)).status == "succeeded"


async def test_a_long_refit_renews_its_lease_and_keeps_its_job_from_other_workers(engine: AsyncEngine) -> None:
    await a_fitted_tenant_of_silent_members(engine, silent_members(3))
    lease, sessions = timedelta(seconds=0.9), create_sessionmaker(engine)
    async with AsyncSession(engine) as request, request.begin():
        job_id = await ask_for_a_refit(request)
    async with AsyncSession(engine) as holder:
        async with holder.begin():
            await locks.hold_tenant_model(session=holder, tenant_id=TENANT)  # a refit under way, say
            working = asyncio.create_task(refits.run_next(sessionmaker=sessions, outbox=OUTBOX, lease=lease))
            await blocked_or_done(engine, working)
            first = await job_of(engine, job_id)
            assert first.status == "running" and first.lease_until is not None
            claimed_until = first.lease_until

            async def renewed_past_its_first_lease() -> None:
                now = datetime.now(UTC)
                assert now > claimed_until + lease
                current = (await job_of(engine, job_id)).lease_until
                assert current is not None and current > now

            await eventually(renewed_past_its_first_lease, timeout=LOCK_WAIT, interval=0.05)
            assert not await refits.run_next(sessionmaker=sessions, outbox=OUTBOX, lease=lease)  # still held
        assert await asyncio.wait_for(working, LOCK_WAIT)
    done = await job_of(engine, job_id)
    assert (done.status, done.attempts) == ("succeeded", 1)


async def test_two_replicas_creating_one_members_facts_both_count(engine: AsyncEngine) -> None:
    await a_fitted_tenant_of_silent_members(engine, silent_members(3))
    newcomer, order_id = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    async with AsyncSession(engine) as first:
        async with first.begin():
            await deliver(first, like_now(newcomer))  # the member's first event, on one partition

            async def buy(session: AsyncSession) -> None:  # their first order, on another
                await deliver(
                    session, OrderPlacedV1(order_id=order_id, member_id=newcomer, amount_fen=500, placed_at=now)
                )
                await deliver(session, OrderPaidV1(order_id=order_id, member_id=newcomer, amount_fen=500, paid_at=now))

            buying = asyncio.create_task(in_transaction(engine, buy))
            await blocked_or_done(engine, buying)
        await asyncio.wait_for(buying, LOCK_WAIT)

    facts = await facts_of(engine, newcomer)
    assert facts is not None and (facts.orders, facts.spend_fen) == (1, 500) and facts.first_active_at is not None
    async with AsyncSession(engine) as session:
        assert await session.scalar(select(func.count()).select_from(OrderFact)) == 1


async def test_a_post_and_an_engagement_of_one_item_from_two_replicas_both_count(engine: AsyncEngine) -> None:
    await a_fitted_tenant_of_silent_members(engine, silent_members(3))
    content_id, reader = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    async with AsyncSession(engine) as first:
        async with first.begin():
            await deliver(
                first,
                ContentEngagedV1(content_id=content_id, member_id=reader, action="view", occurred_at=now),
            )

            async def post(session: AsyncSession) -> None:
                await deliver(
                    session,
                    ContentPostedV1(
                        content_id=content_id,
                        community_id=COMMUNITY,
                        content_type="knowledge",
                        source="PGC",
                        posted_at=now,
                    ),
                )

            posting = asyncio.create_task(in_transaction(engine, post))
            await blocked_or_done(engine, posting)
        await asyncio.wait_for(posting, LOCK_WAIT)

    async with AsyncSession(engine) as session:
        item = await session.get(ContentFact, content_id)
    assert item is not None and (item.views, item.content_type, item.community_id) == (1, "knowledge", COMMUNITY)


async def test_events_of_a_member_being_erased_do_not_bring_them_back(engine: AsyncEngine) -> None:
    await a_fitted_tenant_of_silent_members(engine, silent_members(3))
    erased, invited = uuid.uuid4(), uuid.uuid4()
    now = datetime.now(UTC)
    async with AsyncSession(engine) as erasing:
        async with erasing.begin():
            await erasure.forget_members(session=erasing, erased=[(TENANT, erased)])

            async def join(session: AsyncSession) -> None:  # their join, and a join they invited, meanwhile
                await deliver(
                    session,
                    MemberJoinedV1(member_id=erased, community_id=COMMUNITY, channel="qr", joined_at=now),
                    MemberJoinedV1(
                        member_id=invited, community_id=COMMUNITY, channel="invite", inviter_id=erased, joined_at=now
                    ),
                )

            joining = asyncio.create_task(in_transaction(engine, join))
            await blocked_or_done(engine, joining)
        await asyncio.wait_for(joining, LOCK_WAIT)

    assert await facts_of(engine, erased) is None
    newcomer = await facts_of(engine, invited)
    assert newcomer is not None and newcomer.inviter_id is None


async def test_an_inviter_erased_while_a_batch_is_open_is_not_written_back_into_what_it_read(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    inviter, member, order_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    invited_to, joining = uuid.UUID(int=2), uuid.UUID(int=3)
    then = datetime.now(UTC) - timedelta(days=1)
    for payload in (
        MemberJoinedV1(member_id=inviter, community_id=COMMUNITY, channel="qr", joined_at=then),
        MemberJoinedV1(member_id=member, community_id=COMMUNITY, channel="qr", joined_at=then),
        MemberJoinedV1(member_id=member, community_id=invited_to, channel="invite", joined_at=then, inviter_id=inviter),
        OrderPlacedV1(
            order_id=order_id,
            member_id=member,
            amount_fen=100,
            placed_at=then,
            attribution=Attribution(inviter_id=inviter),
        ),
    ):
        await in_transaction(engine, lambda session, p=payload: deliver(session, p))
    # The batch reads the order and the member's communities, then waits before writing while the
    # inviter's erasure commits: it holds no lock erasure needs (the member was not invited to the brand).
    loaded, resume = asyncio.Event(), asyncio.Event()
    write_members = ingestion.write_members

    async def after_erasure(*, session: AsyncSession, members: Any) -> dict[uuid.UUID, int]:
        loaded.set()
        await resume.wait()
        return await write_members(session=session, members=members)

    monkeypatch.setattr(ingestion, "write_members", after_erasure)
    paid_at = then + timedelta(hours=1)

    async def pay_and_join(session: AsyncSession) -> None:  # one batch: both events go to the one handler
        await deliver(
            session,
            OrderPaidV1(order_id=order_id, member_id=member, amount_fen=100, paid_at=paid_at),
            MemberJoinedV1(member_id=member, community_id=joining, channel="qr", joined_at=paid_at),
        )

    batch = asyncio.create_task(in_transaction(engine, pay_and_join))
    await asyncio.wait_for(loaded.wait(), LOCK_WAIT)
    await asyncio.wait_for(
        in_transaction(engine, lambda s: erasure.forget_members(session=s, erased=[(TENANT, inviter)])), LOCK_WAIT
    )
    resume.set()
    await asyncio.wait_for(batch, LOCK_WAIT)

    async with AsyncSession(engine) as session:
        order = await session.get(OrderFact, order_id)
        invited = await session.get(MemberCommunity, (member, invited_to))
        joined = await session.get(MemberCommunity, (member, joining))
    assert order is not None and order.paid_at == paid_at and order.inviter_id is None
    assert invited is not None and invited.inviter_id is None
    assert joined is not None and joined.first_joined_at == paid_at
