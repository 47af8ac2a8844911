"""KPIs computed from the events of a small, fully known community life, as docs/kpis.md defines them."""

import dataclasses
import uuid
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.activity import REPORT_ZONE
from analytics_svc.db import MESSAGING
from analytics_svc.handlers import HANDLERS
from analytics_svc.ingestion.models import MemberFacts, OrderFact
from analytics_svc.kpis import ledger, reference
from analytics_svc.kpis import service as kpis
from analytics_svc.kpis.models import ALL, DailyCount
from analytics_svc.models import Base
from qunyun_shared.events import EventPayload, new_event
from qunyun_shared.events.campaign import CheckinRecordedV1, OrderPaidV1, OrderPlacedV1
from qunyun_shared.events.content import ContentEngagedV1, ContentPostedV1, SurveyAnsweredV1
from qunyun_shared.events.member import MemberErasedV1, MemberJoinedV1, MemberLeftV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.problems import InvalidInput
from qunyun_shared.testing import in_memory_session_fixture
from tests.support.harness import ROOT

pytestmark = pytest.mark.unit

OUTBOX = Outbox(table=MESSAGING.outbox, source="analytics-svc", topic_prefix="qunyun")
TENANT = "tenant-a"
MONDAY = date(2026, 3, 2)
A, B = uuid.UUID(int=1), uuid.UUID(int=2)
M1, M2, M3 = (uuid.UUID(int=n) for n in (11, 12, 13))
ACTIVITY_POST = uuid.UUID(int=21)

session = in_memory_session_fixture(Base.metadata)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=REPORT_ZONE)


async def deliver(
    session: AsyncSession, *payloads: EventPayload, tenant_id: str = TENANT, time: datetime | None = None
) -> None:
    """One consumer batch, through the handlers as the consumer calls them (runs of one handler); `time`
    is when the events happened, for those whose payload does not say."""
    envelopes = [new_event(source="test", tenant_id=tenant_id, payload=p) for p in payloads]
    if time is not None:
        envelopes = [dataclasses.replace(e, time=time) for e in envelopes]
    run: list = []
    for envelope in envelopes:
        if run and HANDLERS[run[-1].type] is not HANDLERS[envelope.type]:
            await HANDLERS[run[-1].type](session, OUTBOX, run)
            run = []
        run.append(envelope)
    if run:
        await HANDLERS[run[-1].type](session, OUTBOX, run)


def joined(
    member_id: uuid.UUID, community_id: uuid.UUID, day: date, inviter: uuid.UUID | None = None
) -> MemberJoinedV1:
    return MemberJoinedV1(
        member_id=member_id, community_id=community_id, channel="qr", inviter_id=inviter, joined_at=at(day)
    )


def paid_order(member_id: uuid.UUID, day: date, amount_fen: int) -> list[EventPayload]:
    order_id = uuid.uuid4()
    return [
        OrderPlacedV1(order_id=order_id, member_id=member_id, community_id=A, amount_fen=amount_fen, placed_at=at(day)),
        OrderPaidV1(order_id=order_id, member_id=member_id, amount_fen=amount_fen, paid_at=at(day, 11)),
    ]


async def community_life(session: AsyncSession) -> None:
    """Day 1: three members join (one invited), read, like, check in, buy and answer the NPS survey;
    day 2: M1 joins B too and M2 leaves; day 10: M1 buys again."""
    await deliver(
        session,
        joined(M1, A, MONDAY),
        joined(M2, A, MONDAY, inviter=M1),
        joined(M3, B, MONDAY),
        ContentPostedV1(
            content_id=ACTIVITY_POST, community_id=A, content_type="activity", source="PGC", posted_at=at(MONDAY, 8)
        ),
        ContentEngagedV1(
            content_id=ACTIVITY_POST,
            member_id=M1,
            community_id=A,
            content_type="activity",
            action="view",
            occurred_at=at(MONDAY),
        ),
        ContentEngagedV1(content_id=uuid.uuid4(), member_id=M2, community_id=A, action="like", occurred_at=at(MONDAY)),
        CheckinRecordedV1(campaign_id=uuid.uuid4(), member_id=M3, day=MONDAY, streak=1),
        *paid_order(M1, MONDAY, 10_000),
    )
    await deliver(
        session,
        SurveyAnsweredV1(survey_id=uuid.uuid4(), member_id=M2, nps=10),
        SurveyAnsweredV1(survey_id=uuid.uuid4(), member_id=M3, nps=3),
        SurveyAnsweredV1(survey_id=uuid.uuid4(), member_id=M1, nps=8, answers={"complaint": True}),
        time=at(MONDAY, 20),
    )
    tuesday = MONDAY + timedelta(1)
    await deliver(
        session,
        joined(M1, B, tuesday),
        MemberLeftV1(member_id=M2, community_id=A, reason="left", left_at=at(tuesday)),
    )
    await deliver(session, *paid_order(M1, MONDAY + timedelta(9), 5_000))


async def value(
    session: AsyncSession, kpi: str, start: date, end: date | None = None, **options: object
) -> float | None:
    [(_, found)] = await kpis.series(
        session=session, tenant_id=TENANT, name=kpi, start=start, end=end or start, granularity="whole", **options
    )  # type: ignore[arg-type]
    return found


async def test_membership_kpis_count_the_tenant_once_and_each_community_on_its_own(session: AsyncSession) -> None:
    await community_life(session)
    tuesday = MONDAY + timedelta(1)
    assert await value(session, "members_total", MONDAY) == 3
    assert await value(session, "members_total", tuesday) == 2  # M2 left the brand; M1's second group is no join
    assert await value(session, "members_total", tuesday, community_id=A) == 1
    assert await value(session, "members_total", tuesday, community_id=B) == 2
    assert await value(session, "members_new", MONDAY, tuesday) == 3
    assert await value(session, "members_new", MONDAY, tuesday, community_id=B) == 2
    assert await value(session, "members_left", MONDAY, tuesday) == 1
    assert await value(session, "referral_rate", MONDAY) == pytest.approx(1 / 3)


async def test_activity_kpis_count_distinct_members_by_kind(session: AsyncSession) -> None:
    await community_life(session)
    assert await value(session, "dau", MONDAY) == 3
    assert await value(session, "interaction_rate", MONDAY) == pytest.approx(1 / 3)  # M2's like
    assert await value(session, "content_read_rate", MONDAY) == pytest.approx(1 / 3)  # M1's view
    # M1 engaged with activity content, M3 checked in.
    assert await value(session, "activity_participation_rate", MONDAY) == pytest.approx(2 / 3)
    assert await value(session, "order_conversion_rate", MONDAY) == pytest.approx(1 / 3)
    sunday = MONDAY + timedelta(6)
    assert await value(session, "wau", sunday) == 3
    assert await value(session, "weekly_active_rate", sunday) == pytest.approx(3 / 2)  # active, then left
    [(week, dau)] = await kpis.series(
        session=session, tenant_id=TENANT, name="dau", start=MONDAY, end=sunday, granularity="week"
    )
    assert (week.start, week.end, dau) == (MONDAY, sunday, pytest.approx(3 / 7))


async def test_business_and_health_kpis(session: AsyncSession) -> None:
    await community_life(session)
    month_end = MONDAY + timedelta(29)
    assert await value(session, "gmv_fen", MONDAY, month_end) == 15_000
    assert await value(session, "paid_orders", MONDAY, month_end) == 2
    assert await value(session, "average_order_value_fen", MONDAY, month_end) == 7_500
    assert await value(session, "repurchase_rate_30d", MONDAY) == 1.0  # M1 bought again on day 10
    assert await value(session, "repurchase_rate_30d", MONDAY + timedelta(9)) == 0.0
    assert await value(session, "nps", MONDAY) == 0.0  # one promoter, one detractor, one passive
    assert await value(session, "complaint_rate", MONDAY) == pytest.approx(1 / 3)
    assert await value(session, "nps", MONDAY + timedelta(3)) is None  # no answers: undefined


async def test_periods_follow_weeks_and_months_and_cut_the_range() -> None:
    weeks = ledger.periods(date(2026, 3, 4), date(2026, 3, 17), "week")
    assert [(p.start, p.end) for p in weeks] == [
        (date(2026, 3, 4), date(2026, 3, 8)),
        (date(2026, 3, 9), date(2026, 3, 15)),
        (date(2026, 3, 16), date(2026, 3, 17)),
    ]
    months = ledger.periods(date(2026, 1, 31), date(2026, 3, 1), "month")
    assert [(p.start, p.end) for p in months] == [
        (date(2026, 1, 31), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 1)),
    ]


@pytest.mark.parametrize(
    ("kpi", "start", "end", "granularity", "field"),
    [
        ("gmv_fen", date(2026, 3, 2), date(2026, 3, 1), "day", "to"),
        ("gmv_fen", date(2020, 1, 1), date(2026, 1, 1), "day", "granularity"),
        ("happiness", date(2026, 3, 1), date(2026, 3, 2), "day", "kpi"),
    ],
)
async def test_a_bad_query_is_refused(
    session: AsyncSession, kpi: str, start: date, end: date, granularity: str, field: str
) -> None:
    with pytest.raises(InvalidInput) as refused:
        await kpis.series(session=session, tenant_id=TENANT, name=kpi, start=start, end=end, granularity=granularity)  # type: ignore[arg-type]
    assert refused.value.extensions["field"] == field


async def test_an_erased_member_leaves_only_anonymous_counts(session: AsyncSession) -> None:
    await community_life(session)
    await deliver(session, MemberErasedV1(member_id=M1))
    await deliver(
        session, ContentEngagedV1(content_id=ACTIVITY_POST, member_id=M1, action="like", occurred_at=at(MONDAY))
    )
    assert await session.scalar(select(MemberFacts).where(MemberFacts.member_id == M1)) is None
    assert (await session.scalars(select(OrderFact.member_id))).all() and M1 not in (
        await session.scalars(select(OrderFact.member_id))
    ).all()
    assert await value(session, "gmv_fen", MONDAY, MONDAY + timedelta(29)) == 15_000  # totals stand
    assert await value(session, "dau", MONDAY) == 3
    assert await value(session, "interaction_rate", MONDAY) == pytest.approx(1 / 3)  # the late like is not counted


async def test_another_tenant_sees_nothing(session: AsyncSession) -> None:
    await community_life(session)
    [(_, members)] = await kpis.series(
        session=session, tenant_id="tenant-b", name="members_total", start=MONDAY, end=MONDAY, granularity="day"
    )
    assert members == 0


def test_the_kpi_reference_doc_is_current() -> None:
    assert (ROOT / "docs" / "kpis.md").read_text() == reference.render(), "run `make docs`"


async def test_a_returning_member_is_not_new(session: AsyncSession) -> None:
    """M1 joins A, leaves the brand, and joins A again: one new member of the tenant and of A, not two."""
    week_later = MONDAY + timedelta(7)
    await deliver(session, joined(M1, A, MONDAY))
    await deliver(session, MemberLeftV1(member_id=M1, community_id=A, reason="left", left_at=at(MONDAY, 12)))
    await deliver(session, joined(M1, A, week_later), joined(M2, A, week_later))
    assert await value(session, "members_new", MONDAY, week_later) == 2
    assert await value(session, "members_new", MONDAY, week_later, community_id=A) == 2
    assert await value(session, "members_new", week_later) == 1  # M2; M1 came back
    assert await value(session, "members_total", week_later) == 2  # the return still counts as a member


async def test_an_earlier_join_arriving_late_moves_the_first_join_to_its_day(session: AsyncSession) -> None:
    tuesday = MONDAY + timedelta(1)
    await deliver(session, joined(M1, B, tuesday, inviter=M2))
    await deliver(session, joined(M1, A, MONDAY))  # from another partition, after the later join
    assert await value(session, "members_new", MONDAY, tuesday) == 1
    assert await value(session, "members_new", MONDAY) == 1
    assert await value(session, "referral_rate", MONDAY, tuesday) == 0.0  # M1 came to the brand uninvited
    # In each community, M1 is new on the day they joined it, and was invited into B.
    assert await value(session, "members_new", tuesday, community_id=B) == 1
    assert await value(session, "referral_rate", tuesday, community_id=B) == 1.0


async def test_a_communitys_referral_rate_counts_the_members_new_to_it(session: AsyncSession) -> None:
    """M1, a member of the brand since Monday through A, is invited into B on Tuesday: a referral of B's."""
    tuesday = MONDAY + timedelta(1)
    await deliver(session, joined(M1, A, MONDAY), joined(M2, A, MONDAY))
    await deliver(session, joined(M1, B, tuesday, inviter=M2), joined(M3, B, tuesday))
    assert await value(session, "referral_rate", tuesday, community_id=B) == pytest.approx(1 / 2)
    assert await value(session, "members_new", tuesday, community_id=B) == 2
    assert await value(session, "referral_rate", MONDAY, tuesday) == 0.0  # for the brand, M1 was not referred


async def test_a_join_invited_by_an_erased_member_keeps_no_link_to_them(session: AsyncSession) -> None:
    await deliver(session, joined(M1, A, MONDAY))
    await deliver(session, MemberErasedV1(member_id=M1))
    await deliver(session, joined(M2, A, MONDAY + timedelta(1), inviter=M1))
    invited = await session.scalar(select(MemberFacts).where(MemberFacts.member_id == M2))
    assert invited is not None and invited.inviter_id is None
    assert await value(session, "referral_rate", MONDAY + timedelta(1)) == 1.0  # the invitation still counts


async def test_an_order_placed_again_stays_paid_and_counted_once(session: AsyncSession) -> None:
    """A second `order.placed` of one order (another event, so the inbox lets it through) changes nothing."""
    day, order_id = MONDAY, uuid.uuid4()
    await deliver(session, joined(M1, A, day))
    placed = OrderPlacedV1(order_id=order_id, member_id=M1, community_id=A, amount_fen=9_900, placed_at=at(day))
    await deliver(session, placed, OrderPaidV1(order_id=order_id, member_id=M1, amount_fen=9_900, paid_at=at(day, 11)))
    await deliver(session, placed)
    order = await session.get(OrderFact, order_id, populate_existing=True)
    assert order is not None and order.paid_at == at(day, 11)
    placed_counts = await session.scalars(
        select(DailyCount.value).where(DailyCount.metric == "orders", DailyCount.community_id == ALL)
    )
    assert list(placed_counts) == [1]
