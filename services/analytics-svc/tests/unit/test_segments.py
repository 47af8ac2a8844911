"""RFM scores, segments and churn risk: the rules of docs/kpis.md on arrays, and their upkeep from events."""

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.db import MESSAGING
from analytics_svc.handlers import HANDLERS
from analytics_svc.ingestion.models import MemberFacts
from analytics_svc.models import Base
from analytics_svc.scoring import rfm, segments, valuation
from analytics_svc.scoring.models import TenantModel
from analytics_svc.scoring.summary import Summary
from qunyun_shared.events import EventPayload, new_event
from qunyun_shared.events.campaign import OrderPaidV1, OrderPlacedV1
from qunyun_shared.events.content import ContentEngagedV1
from qunyun_shared.events.member import MemberJoinedV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture, staged_events

pytestmark = pytest.mark.unit

OUTBOX = Outbox(table=MESSAGING.outbox, source="analytics-svc", topic_prefix="qunyun")
TENANT = "tenant-a"
BREAKS = rfm.Breakpoints(recency_days=(2, 5, 10, 30), orders=(1, 1, 2, 3), spend_fen=(5_000, 10_000, 20_000, 50_000))

session = in_memory_session_fixture(Base.metadata)


def members(**columns: list[float]) -> rfm.Members:
    size = len(next(iter(columns.values())))
    defaults = {
        "days_since_active": [1.0] * size,
        "days_since_joined": [100.0] * size,
        "orders": [0.0] * size,
        "spend_fen": [0.0] * size,
        "engagement_fast": [1.0] * size,
        "engagement_slow": [30 / 7] * size,  # steady
        "churn_flagged": [False] * size,
    }
    defaults.update(columns)
    arrays = {
        name: np.array(values, dtype=bool if name == "churn_flagged" else float) for name, values in defaults.items()
    }
    never = np.full(size, np.nan)
    no_purchases = Summary.of(
        purchase_days=np.zeros(size),
        first_day=never,
        last_day=never,
        spend_fen=np.zeros(size),
        first_day_fen=np.zeros(size),
        today=20_000,
    )
    return rfm.Members(**arrays, purchases=no_purchases)


def test_recency_frequency_and_monetary_are_quintiles() -> None:
    scored = rfm.score(
        members(
            days_since_active=[1, 3, 7, 20, 60],
            orders=[0, 1, 2, 3, 9],
            spend_fen=[0, 5_000, 15_000, 30_000, 90_000],
        ),
        BREAKS,
        None,
    )
    assert scored.recency.tolist() == [5, 4, 3, 2, 1]
    assert scored.frequency.tolist() == [1, 1, 3, 4, 5]  # no order scores 1
    assert scored.monetary.tolist() == [1, 1, 3, 4, 5]


def test_segments_follow_the_rules() -> None:
    scored = rfm.score(
        members(
            days_since_active=[1, 1, 7, 7, 20],
            orders=[5, 0, 2, 0, 5],
            spend_fen=[90_000, 0, 15_000, 0, 90_000],
        ),
        BREAKS,
        None,
    )
    # active big spender, recently active, engaged mid buyer, quiet non-buyer, lapsing big spender
    assert scored.segment.tolist() == ["high_value", "potential", "potential", "ordinary", "ordinary"]


def test_churn_risk_rises_with_silence_and_fading_engagement_and_flags_with_hysteresis() -> None:
    silent = members(days_since_active=[1, 45, 90], engagement_fast=[1.0, 0.0, 0.0])
    scored = rfm.score(silent, BREAKS, None)
    assert scored.churn_score[0] < scored.churn_score[1] < scored.churn_score[2]
    assert scored.churn_flagged.tolist() == [False, scored.churn_score[1] >= rfm.FLAG_AT, True]
    assert scored.segment[2] == "churn_risk" and "silent for 90 days" in scored.reasons(2)
    # Between the thresholds a flag stays as it was: raised stays raised, cleared stays cleared.
    between = rfm.score(
        members(days_since_active=[18, 18], engagement_fast=[0.0, 0.0], churn_flagged=[True, False]), BREAKS, None
    )
    assert rfm.CLEAR_BELOW <= between.churn_score[0] < rfm.FLAG_AT
    assert between.churn_flagged.tolist() == [True, False]


def test_new_members_are_not_judged_before_their_grace_period() -> None:
    scored = rfm.score(
        members(days_since_active=[np.nan], days_since_joined=[5.0], engagement_fast=[0.0]), BREAKS, None
    )
    assert not scored.churn_flagged[0]


async def deliver(session: AsyncSession, *payloads: EventPayload) -> None:
    envelopes = [new_event(source="test", tenant_id=TENANT, payload=p) for p in payloads]
    await HANDLERS[envelopes[0].type](session, OUTBOX, envelopes)


async def announced(session: AsyncSession, event_type: str) -> list:  # type: ignore[type-arg]
    return [payload for type_, payload in await staged_events(session, MESSAGING.outbox) if type_ == event_type]


async def test_an_event_moves_its_member_to_a_new_segment_at_once_and_says_so(session: AsyncSession) -> None:
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=200)
    crowd = [uuid.uuid4() for _ in range(20)]
    await deliver(
        session,
        *(MemberJoinedV1(member_id=m, community_id=uuid.UUID(int=1), channel="qr", joined_at=long_ago) for m in crowd),
    )
    # A member of the crowd buys big: from the tenant's fit, they are now its best customer.
    buyer, order_id = crowd[0], uuid.uuid4()
    await deliver(session, OrderPlacedV1(order_id=order_id, member_id=buyer, amount_fen=88_800, placed_at=now))
    await deliver(session, OrderPaidV1(order_id=order_id, member_id=buyer, amount_fen=88_800, paid_at=now))
    facts = await session.scalar(select(MemberFacts).where(MemberFacts.member_id == buyer))
    assert facts is not None and facts.orders == 1
    scores = valuation.member_scores(facts, await session.get(TenantModel, TENANT), now)
    assert scores.recency_score == 5 and scores.segment == facts.segment
    changes = [c for c in await announced(session, "member.segment_changed") if c.member_id == buyer]
    assert changes and changes[-1].to_segment == facts.segment != "churn_risk"
    # The crowd, silent since joining long ago, was flagged at the tenant's first fit, each member once; a
    # flag the buyer's order cleared is announced cleared.
    risks = await announced(session, "member.churn_risk")
    raised = [r for r in risks if r.flagged]
    assert sorted(r.member_id for r in raised) == sorted(crowd)
    assert all(r.score >= rfm.FLAG_AT and r.reasons for r in raised)
    assert [r.member_id for r in risks if not r.flagged] == ([] if facts.churn_flagged else [buyer])


async def test_the_periodic_refit_takes_the_oldest_due_tenant_only(session: AsyncSession) -> None:
    now = datetime.now(UTC)
    await deliver(
        session,
        ContentEngagedV1(content_id=uuid.uuid4(), member_id=uuid.uuid4(), action="like", occurred_at=now),
    )
    model = await session.get(TenantModel, TENANT)
    assert model is not None and model.members == 1
    assert await segments.refit_next(session=session, outbox=OUTBOX, now=now, every=timedelta(hours=1)) == 0
    assert (
        await segments.refit_next(
            session=session, outbox=OUTBOX, now=now + timedelta(hours=2), every=timedelta(hours=1)
        )
        == 1
    )
    await session.refresh(model)
    assert model.fitted_at == now + timedelta(hours=2)


async def test_late_events_weigh_what_their_age_says_whatever_the_arrival_order(session: AsyncSession) -> None:
    """Two members do the same things; one's events arrive in order, the other's newest first, as events
    from several partitions can. Their engagement, trend and churn score come out the same."""
    now = datetime.now(UTC)
    in_order, reversed_order = uuid.uuid4(), uuid.uuid4()
    times = [now - timedelta(days=days) for days in (40, 21, 9, 2)]

    def likes(member_id: uuid.UUID, moments: list[datetime]) -> list[ContentEngagedV1]:
        return [
            ContentEngagedV1(content_id=uuid.uuid4(), member_id=member_id, action="like", occurred_at=moment)
            for moment in moments
        ]

    await deliver(
        session,
        *(
            MemberJoinedV1(member_id=m, community_id=uuid.UUID(int=1), channel="qr", joined_at=times[0] - timedelta(1))
            for m in (in_order, reversed_order)
        ),
    )
    for moment in times:
        await deliver(session, *likes(in_order, [moment]))
    for moment in reversed(times):
        await deliver(session, *likes(reversed_order, [moment]))
    await segments.recompute(session=session, outbox=OUTBOX, tenant_id=TENANT, now=now)
    found = {
        m.member_id: m
        for m in await session.scalars(
            select(MemberFacts)
            .where(MemberFacts.member_id.in_((in_order, reversed_order)))
            .execution_options(populate_existing=True)
        )
    }
    first, second = found[in_order], found[reversed_order]
    assert second.engagement_at == first.engagement_at == times[-1]
    assert second.engagement_fast == pytest.approx(first.engagement_fast, rel=1e-9)
    assert second.engagement_slow == pytest.approx(first.engagement_slow, rel=1e-9)
    model = await session.get(TenantModel, TENANT)
    assert second.segment == first.segment
    assert (
        valuation.member_scores(second, model, now).churn_score
        == valuation.member_scores(first, model, now).churn_score
    )


async def test_scores_are_computed_when_asked_and_drift_with_silence_without_a_write(session: AsyncSession) -> None:
    """The CDNOW customers (the `lifetimes` package's data) as members, so that both models fit."""
    now = datetime.now(UTC)
    buyers = []
    for customer in load_cdnow_summary_data_with_monetary_value().itertuples():
        first = now - timedelta(weeks=customer.T)
        last = first + timedelta(weeks=customer.recency)
        repeats = int(customer.frequency)
        buyers.append(
            MemberFacts(
                member_id=uuid.uuid4(),
                tenant_id=TENANT,
                memberships=1,
                first_joined_at=first,
                last_active_at=last,
                orders=repeats + 1,
                purchase_days=repeats + 1,
                first_order_at=first,
                last_order_at=last,
                spend_fen=int(100 * (20 + repeats * customer.monetary_value)),
                first_day_fen=2_000,
            )
        )
    session.add_all(buyers)
    await segments.recompute(session=session, outbox=OUTBOX, tenant_id=TENANT, now=now)
    model = await session.get(TenantModel, TENANT)
    assert model is not None and model.purchases and model.spend

    member = next(m for m in buyers if m.orders > 3)
    await session.refresh(member)  # the refit wrote its decision past the session
    today = valuation.member_scores(member, model, now)
    assert today.probability_alive is not None and 0 < today.probability_alive <= 1
    assert today.lifetime_value_fen is not None and today.lifetime_value_fen > 0
    assert today.segment == member.segment and today.scored_at == member.scored_at == now
    # A month of silence later, with nothing written, the scores have moved and the decisions have not.
    later = valuation.member_scores(member, model, now + timedelta(days=30))
    assert later.churn_score is not None and today.churn_score is not None
    assert later.churn_score > today.churn_score
    assert later.probability_alive is not None and later.probability_alive < today.probability_alive
    assert (later.segment, later.scored_at) == (today.segment, today.scored_at)
