"""Cohorts, the funnel, referral reach, community health and stage, and alerts raised once per breach."""

import dataclasses
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.activity import REPORT_ZONE
from analytics_svc.alerts import service as alerts
from analytics_svc.alerts.schemas import AlertRuleCreate
from analytics_svc.cohorts import service as cohorts
from analytics_svc.communities import health
from analytics_svc.communities.models import CommunityState
from analytics_svc.db import MESSAGING
from analytics_svc.handlers import HANDLERS
from analytics_svc.models import Base
from analytics_svc.referrals import service as referrals
from qunyun_shared.events import EventPayload, new_event
from qunyun_shared.events.campaign import CampaignEndedV1, CampaignStartedV1, OrderPaidV1, OrderPlacedV1
from qunyun_shared.events.content import ContentEngagedV1
from qunyun_shared.events.member import MemberErasedV1, MemberInvitedV1, MemberJoinedV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.problems import InvalidInput, NotFound
from qunyun_shared.testing import in_memory_session_fixture, staged_events

pytestmark = pytest.mark.unit

OUTBOX = Outbox(table=MESSAGING.outbox, source="analytics-svc", topic_prefix="qunyun")
TENANT = "tenant-a"
COMMUNITY = uuid.UUID(int=1)
MONDAY = date(2026, 3, 2)

session = in_memory_session_fixture(Base.metadata)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=REPORT_ZONE)


async def deliver(session: AsyncSession, *payloads: EventPayload, time: datetime | None = None) -> None:
    envelopes = [new_event(source="test", tenant_id=TENANT, payload=p) for p in payloads]
    if time is not None:
        envelopes = [dataclasses.replace(e, time=time) for e in envelopes]
    await HANDLERS[envelopes[0].type](session, OUTBOX, envelopes)


async def join(
    session: AsyncSession, day: date, inviter: uuid.UUID | None = None, community: uuid.UUID = COMMUNITY
) -> uuid.UUID:
    member_id = uuid.uuid4()
    await deliver(
        session,
        MemberJoinedV1(
            member_id=member_id, community_id=community, channel="qr", inviter_id=inviter, joined_at=at(day)
        ),
    )
    return member_id


async def invite(session: AsyncSession, inviter: uuid.UUID, day: date, community: uuid.UUID = COMMUNITY) -> None:
    invited = MemberInvitedV1(
        invitation_id=uuid.uuid4(), member_id=inviter, community_id=community, channel="friend", sent_at=at(day, 9)
    )
    await deliver(session, invited)


async def engage(session: AsyncSession, member_id: uuid.UUID, day: date) -> None:
    await deliver(
        session,
        ContentEngagedV1(
            content_id=uuid.uuid4(), member_id=member_id, community_id=COMMUNITY, action="like", occurred_at=at(day)
        ),
    )


async def buy(session: AsyncSession, member_id: uuid.UUID, day: date, amount_fen: int = 1_000) -> None:
    order_id = uuid.uuid4()
    await deliver(
        session,
        OrderPlacedV1(
            order_id=order_id, member_id=member_id, community_id=COMMUNITY, amount_fen=amount_fen, placed_at=at(day)
        ),
        OrderPaidV1(order_id=order_id, member_id=member_id, amount_fen=amount_fen, paid_at=at(day, 12)),
    )


async def test_retention_follows_each_join_cohort_week_by_week(session: AsyncSession) -> None:
    first = [await join(session, MONDAY) for _ in range(4)]
    second = [await join(session, MONDAY + timedelta(7)) for _ in range(2)]
    for member in first[:2]:
        await engage(session, member, MONDAY + timedelta(8))  # week 1 after joining
    await engage(session, first[0], MONDAY + timedelta(15))  # week 2
    await engage(session, second[0], MONDAY + timedelta(9))  # its own week 0
    rows = await cohorts.retention(
        session=session, tenant_id=TENANT, start=MONDAY, end=MONDAY + timedelta(13), granularity="week"
    )
    assert [(r.cohort.start, r.members) for r in rows] == [(MONDAY, 4), (MONDAY + timedelta(7), 2)]
    assert rows[0].values[:3] == [0.0, 0.5, 0.25]
    assert rows[1].values[:2] == [0.5, 0.0]
    community_rows = await cohorts.retention(
        session=session,
        tenant_id=TENANT,
        start=MONDAY,
        end=MONDAY + timedelta(6),
        granularity="week",
        community_id=COMMUNITY,
    )
    assert community_rows[0].values[:3] == [0.0, 0.5, 0.25]
    with pytest.raises(InvalidInput):
        await cohorts.retention(session=session, tenant_id=TENANT, start=MONDAY, end=MONDAY, granularity="day")


async def test_revenue_of_a_cohort_is_what_its_members_paid_after_joining(session: AsyncSession) -> None:
    member = await join(session, MONDAY)
    await buy(session, member, MONDAY + timedelta(2), 3_000)
    await buy(session, member, MONDAY + timedelta(35), 2_000)
    [row] = await cohorts.revenue(session=session, tenant_id=TENANT, start=MONDAY, end=MONDAY, granularity="month")
    assert row.members == 1 and row.values[:2] == [3_000.0, 2_000.0]


async def test_the_funnel_counts_each_step_and_its_median_time(session: AsyncSession) -> None:
    members = [await join(session, MONDAY) for _ in range(4)]
    for member in members[:3]:
        await engage(session, member, MONDAY + timedelta(2))
    for member in members[:2]:
        await buy(session, member, MONDAY + timedelta(4))
    await buy(session, members[0], MONDAY + timedelta(14))
    steps = await cohorts.funnel(session=session, tenant_id=TENANT, start=MONDAY, end=MONDAY)
    assert [(s.step, s.members) for s in steps] == [
        ("joined", 4),
        ("engaged", 3),
        ("first_order", 2),
        ("repurchase", 1),
    ]
    assert [s.conversion for s in steps] == [None, 0.75, pytest.approx(2 / 3), 0.5]
    assert steps[1].median_days == 2.0  # joined 10:00, engaged two days later at 10:00
    assert steps[3].median_days == 10.0  # paid at noon on day 4, again at noon on day 14


async def test_referrals_count_per_inviter_with_the_tree_depth_and_k_factor(session: AsyncSession) -> None:
    seed = await join(session, MONDAY - timedelta(10))
    other = await join(session, MONDAY - timedelta(10))
    await invite(session, seed, MONDAY - timedelta(1))  # before the range
    for _ in range(3):
        await invite(session, seed, MONDAY)
    child = await join(session, MONDAY, inviter=seed)
    await join(session, MONDAY, inviter=seed)
    await invite(session, child, MONDAY + timedelta(1))
    await join(session, MONDAY + timedelta(1), inviter=child)
    await invite(session, other, MONDAY + timedelta(2))
    await buy(session, child, MONDAY + timedelta(2))
    found = await referrals.referrals(session=session, tenant_id=TENANT, start=MONDAY, end=MONDAY + timedelta(6))
    assert [(i.member_id, i.invites_sent, i.joins, i.first_orders) for i in found.inviters] == [
        (seed, 3, 2, 1),
        (child, 1, 1, 0),
        (other, 1, 0, 0),  # invited, nobody came
    ]
    assert (found.invites_sent, found.referred_joins, found.tree_depth) == (5, 3, 2)
    assert found.k_factor == 1.5  # 3 referred, 2 members before


async def test_referral_reach_per_community_counts_members_new_to_it(session: AsyncSession) -> None:
    other_group = uuid.UUID(int=2)
    seed = await join(session, MONDAY - timedelta(10))
    await join(session, MONDAY - timedelta(10), community=other_group)
    await invite(session, seed, MONDAY, community=other_group)
    await invite(session, seed, MONDAY, community=other_group)
    await join(session, MONDAY, inviter=seed, community=other_group)
    await deliver(  # the seed joins the other group too, invited by no one: not a referred join
        session,
        MemberJoinedV1(member_id=seed, community_id=other_group, channel="qr", joined_at=at(MONDAY + timedelta(1))),
    )
    found = await referrals.referrals(session=session, tenant_id=TENANT, start=MONDAY, end=MONDAY + timedelta(6))
    assert [(c.community_id, c.reach) for c in found.communities] == [
        (other_group, referrals.Reach(invites_sent=2, referred_joins=1, members_before=1, k_factor=1.0))
    ]


async def test_a_referral_campaign_is_measured_over_its_run_within_the_range(session: AsyncSession) -> None:
    seed = await join(session, MONDAY - timedelta(10))
    campaign = uuid.uuid4()
    await deliver(
        session,
        CampaignStartedV1(campaign_id=campaign, kind="referral", name="拉新", started_at=at(MONDAY + timedelta(2), 0)),
    )
    await deliver(session, CampaignStartedV1(campaign_id=uuid.uuid4(), kind="checkin", name="打卡"))  # no referrals
    await invite(session, seed, MONDAY + timedelta(1))  # before the campaign
    await join(session, MONDAY + timedelta(1), inviter=seed)
    await invite(session, seed, MONDAY + timedelta(3))
    await join(session, MONDAY + timedelta(3), inviter=seed)
    await deliver(
        session,
        CampaignEndedV1(campaign_id=campaign, kind="referral", reason="schedule", ended_at=at(MONDAY + timedelta(4))),
    )
    await join(session, MONDAY + timedelta(5), inviter=seed)  # after it
    [run] = (
        await referrals.referrals(session=session, tenant_id=TENANT, start=MONDAY, end=MONDAY + timedelta(6))
    ).campaigns
    assert (run.campaign_id, run.name, run.start, run.end) == (
        campaign,
        "拉新",
        at(MONDAY + timedelta(2), 0),
        at(MONDAY + timedelta(4)),
    )
    # The seed and the member who joined before it began were there.
    assert run.reach == referrals.Reach(invites_sent=1, referred_joins=1, members_before=2, k_factor=0.5)
    later = await referrals.referrals(
        session=session, tenant_id=TENANT, start=MONDAY + timedelta(3), end=MONDAY + timedelta(6)
    )
    assert later.campaigns[0].start == at(MONDAY + timedelta(3), 0)  # cut to the range
    assert (
        await referrals.referrals(
            session=session, tenant_id=TENANT, start=MONDAY + timedelta(5), end=MONDAY + timedelta(6)
        )
    ).campaigns == []


async def test_an_erased_inviters_invitations_stay_counted_under_a_stranger(session: AsyncSession) -> None:
    seed = await join(session, MONDAY - timedelta(10))
    await invite(session, seed, MONDAY)
    await deliver(session, MemberErasedV1(member_id=seed))
    await invite(session, seed, MONDAY)  # late: the erased are not brought back
    found = await referrals.referrals(session=session, tenant_id=TENANT, start=MONDAY, end=MONDAY)
    assert found.invites_sent == 1
    assert [(i.invites_sent, i.member_id != seed) for i in found.inviters] == [(1, True)]


async def test_health_scores_a_community_and_names_its_stage(session: AsyncSession) -> None:
    members = [await join(session, MONDAY - timedelta(40)) for _ in range(40)]
    day = MONDAY
    for member in members[:30]:
        await engage(session, member, day - timedelta(2))
    for member in members[:10]:
        await buy(session, member, day - timedelta(3))
    found = await health.evaluate(session=session, tenant_id=TENANT, community_id=COMMUNITY, as_of=day)
    assert (found.members, found.age_days) == (40, 40)
    assert found.metrics["weekly_active_rate"] == (0.75, 100.0)  # 30 of 40 against a 50% target
    assert found.metrics["order_conversion_rate"] == (0.25, 100.0)
    assert found.metrics["member_growth"] == (0.0, 0.0)
    assert found.metrics["nps"] == (None, None)  # no answers: left out, not zero
    assert found.score is not None and 0 < found.score <= 100
    assert set(found.dimensions) == set(health.DIMENSIONS)
    assert health.stage_of(10, 100, 80.0, 0.5) == "startup"
    assert health.stage_of(60, 100, 30.0, 0.2) == "decline"
    assert health.stage_of(60, 100, 80.0, -0.2) == "decline"
    assert health.stage_of(120, 100, 80.0, 0.01) == "mature"
    assert health.stage_of(60, 100, 80.0, 0.2) == "growth"


async def test_a_stage_change_is_announced_once(session: AsyncSession) -> None:
    await join(session, MONDAY)
    now = datetime.now(UTC)
    assert await health.evaluate_due(session=session, outbox=OUTBOX, now=now, every=timedelta(hours=1)) == 1
    assert await health.evaluate_due(session=session, outbox=OUTBOX, now=now, every=timedelta(hours=1)) == 0
    assert (
        await health.evaluate_due(
            session=session, outbox=OUTBOX, now=now + timedelta(hours=2), every=timedelta(hours=1)
        )
        == 1
    )
    changes = [p for t, p in await staged_events(session, MESSAGING.outbox) if t == "community.stage_changed"]
    assert [(c.community_id, c.from_stage, c.to_stage) for c in changes] == [(COMMUNITY, None, "startup")]
    state = await session.get(CommunityState, (TENANT, COMMUNITY))
    assert state is not None and state.stage == "startup"


async def test_an_alert_is_raised_once_per_breach_and_resolved_after(session: AsyncSession) -> None:
    today = datetime.now(REPORT_ZONE).date()
    member = await join(session, today - timedelta(20))
    rule_in = AlertRuleCreate(kpi="weekly_active_rate", condition="below", threshold=0.5, level="warning")
    rule = await alerts.create_rule(session=session, tenant_id=TENANT, rule_in=rule_in, now=datetime.now(UTC))
    now = datetime.now(UTC)
    first = await alerts.evaluate(session=session, outbox=OUTBOX, rule=rule, now=now)
    assert first is not None and (first.value, first.level) == (0.0, "warning")
    assert (
        await alerts.evaluate(session=session, outbox=OUTBOX, rule=rule, now=now) is None
    )  # still breached: no second alert
    await engage(session, member, today - timedelta(1))
    assert await alerts.evaluate(session=session, outbox=OUTBOX, rule=rule, now=now) is None
    assert rule.breached is False and rule.last_value == 1.0
    [stored] = await alerts.alerts_of(session=session, tenant_id=TENANT, open_only=False, limit=10)
    assert stored.resolved_at == now
    raised = [p for t, p in await staged_events(session, MESSAGING.outbox) if t == "alert.raised"]
    assert [(r.alert_id, r.kpi, r.level) for r in raised] == [(first.id, "weekly_active_rate", "warning")]


async def test_a_drop_rule_compares_a_week_with_the_one_before(session: AsyncSession) -> None:
    today = datetime.now(REPORT_ZONE).date()
    member = await join(session, today - timedelta(30))
    await buy(session, member, today - timedelta(10), 10_000)
    await buy(session, member, today - timedelta(3), 4_000)
    rule = await alerts.create_rule(
        session=session,
        tenant_id=TENANT,
        rule_in=AlertRuleCreate(kpi="gmv_fen", condition="drop_pct", threshold=50, level="critical"),
        now=datetime.now(UTC),
    )
    assert await alerts.measure(session=session, rule=rule, through=today - timedelta(1)) == -60.0
    assert await alerts.evaluate(session=session, outbox=OUTBOX, rule=rule, now=datetime.now(UTC)) is not None


async def test_bad_alert_rules_are_refused(session: AsyncSession) -> None:
    with pytest.raises(InvalidInput):
        await alerts.create_rule(
            session=session,
            tenant_id=TENANT,
            rule_in=AlertRuleCreate(kpi="joy", condition="below", threshold=1, level="info"),
            now=datetime.now(UTC),
        )
    with pytest.raises(NotFound):
        rule_in = AlertRuleCreate(kpi="nps", condition="below", threshold=1, level="info", community_id=uuid.uuid4())
        await alerts.create_rule(session=session, tenant_id=TENANT, rule_in=rule_in, now=datetime.now(UTC))
    with pytest.raises(ValueError, match="positive percentage"):
        AlertRuleCreate(kpi="nps", condition="drop_pct", threshold=-5, level="info")


def test_the_longest_range_of_monthly_cohorts_is_answered() -> None:
    found, follow = cohorts._spans(date(2005, 6, 1), date(2014, 1, 31), "month")
    assert len(found) == cohorts.MAX_COHORTS and len(follow) == len(found) + cohorts.MAX_OFFSETS
