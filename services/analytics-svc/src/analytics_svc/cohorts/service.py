"""Cohorts and funnels: retention and revenue of join cohorts, and the funnel from joining to buying
again. Definitions: docs/kpis.md."""

import statistics
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.activity import ACTIVE, JOINED, REPORT_ZONE, day_of, midnight
from analytics_svc.ingestion.models import MemberFacts, OrderFact
from analytics_svc.kpis.ledger import Granularity, Period, load, periods
from analytics_svc.kpis.models import ALL
from qunyun_shared.problems import InvalidInput

# A cohort is followed for at most this many periods, and a matrix has at most this many cohorts:
# wider or taller than that it is not read.
MAX_OFFSETS = 52
MAX_COHORTS = 104


@dataclass(frozen=True)
class CohortRow:
    cohort: Period
    members: int
    values: list[float | None]  # per period offset 0, 1, ...: a share of the cohort, or fen


async def retention(
    *,
    session: AsyncSession,
    tenant_id: str,
    start: date,
    end: date,
    granularity: Granularity,
    community_id: uuid.UUID | None = None,
) -> list[CohortRow]:
    """For each cohort of members who joined in a period, the share active in it and each period after,
    up to today or MAX_OFFSETS."""
    cohorts, follow = _spans(start, end, granularity)
    ledger = await load(
        session=session,
        tenant_id=tenant_id,
        community_id=community_id or ALL,
        start=cohorts[0].start,
        end=follow[-1].end,
        kinds=(ACTIVE, JOINED),
    )
    active = [ledger.members_of(ACTIVE, span) for span in follow]
    rows = []
    for index, cohort in enumerate(cohorts):
        joined = ledger.members_of(JOINED, cohort)
        shares: list[float | None] = [
            len(joined & active[index + offset]) / len(joined) if joined else None
            for offset in range(min(len(follow) - index, MAX_OFFSETS))
        ]
        rows.append(CohortRow(cohort, len(joined), shares))
    return rows


async def revenue(
    *, session: AsyncSession, tenant_id: str, start: date, end: date, granularity: Granularity
) -> list[CohortRow]:
    """For each cohort of members who joined the brand in a period, the GMV they paid in it and each
    period after (orders of erased members are no one's any more and count in no cohort)."""
    cohorts, follow = _spans(start, end, granularity)
    paid = await session.execute(
        select(MemberFacts.first_joined_at, OrderFact.paid_at, OrderFact.amount_fen)
        .join(MemberFacts, MemberFacts.member_id == OrderFact.member_id)
        .where(
            OrderFact.tenant_id == tenant_id,
            OrderFact.paid_at.is_not(None),
            MemberFacts.first_joined_at >= midnight(cohorts[0].start),
            MemberFacts.first_joined_at < midnight(cohorts[-1].end + timedelta(1)),
        )
    )
    sizes = await session.execute(
        select(MemberFacts.first_joined_at).where(
            MemberFacts.tenant_id == tenant_id,
            MemberFacts.first_joined_at >= midnight(cohorts[0].start),
            MemberFacts.first_joined_at < midnight(cohorts[-1].end + timedelta(1)),
        )
    )
    members = [0] * len(cohorts)
    for (joined_at,) in sizes:
        if joined_at is not None:  # the query asked for joins in a range
            members[_index(follow, day_of(joined_at))] += 1
    gmv: defaultdict[tuple[int, int], int] = defaultdict(int)
    for joined_at, paid_at, amount in paid:
        if joined_at is None or paid_at is None:  # the query asked for both
            continue
        cohort, period = _index(follow, day_of(joined_at)), _index(follow, day_of(paid_at))
        if 0 <= period - cohort < MAX_OFFSETS and period >= 0:
            gmv[(cohort, period - cohort)] += amount
    return [
        CohortRow(cohort, members[i], [float(gmv[(i, k)]) for k in range(min(len(follow) - i, MAX_OFFSETS))])
        for i, cohort in enumerate(cohorts)
    ]


@dataclass(frozen=True)
class FunnelStep:
    step: str
    members: int
    conversion: float | None  # from the step before
    median_days: float | None  # from the step before, for the members who made it


async def funnel(*, session: AsyncSession, tenant_id: str, start: date, end: date) -> list[FunnelStep]:
    """Members who joined the brand in [start, end]: how many went on to engage, to a first order and to a
    second one, the share from each step to the next and the median days each step took."""
    if end < start:
        raise InvalidInput(f"The range ends ({end}) before it starts ({start}).", field="to")
    joined = (
        await session.execute(
            select(
                MemberFacts.member_id,
                MemberFacts.first_joined_at,
                MemberFacts.first_active_at,
                MemberFacts.first_order_at,
            ).where(
                MemberFacts.tenant_id == tenant_id,
                MemberFacts.first_joined_at >= midnight(start),
                MemberFacts.first_joined_at < midnight(end + timedelta(1)),
            )
        )
    ).all()
    second = await _second_orders(session, tenant_id, [m.member_id for m in joined if m.first_order_at is not None])
    steps: list[list[float]] = [[], [], [], []]
    for member in joined:
        steps[0].append(0.0)
        if member.first_active_at is None:
            continue
        steps[1].append(_days(member.first_joined_at, member.first_active_at))
        if member.first_order_at is None:
            continue
        steps[2].append(_days(max(member.first_active_at, member.first_joined_at), member.first_order_at))
        if member.member_id in second:
            steps[3].append(_days(member.first_order_at, second[member.member_id]))
    names = ("joined", "engaged", "first_order", "repurchase")
    return [
        FunnelStep(
            step=name,
            members=len(steps[i]),
            conversion=(len(steps[i]) / len(steps[i - 1]) if steps[i - 1] else None) if i else None,
            median_days=round(statistics.median(steps[i]), 2) if i and steps[i] else None,
        )
        for i, name in enumerate(names)
    ]


async def _second_orders(
    session: AsyncSession, tenant_id: str, member_ids: list[uuid.UUID]
) -> dict[uuid.UUID, datetime]:
    """Each member's second payment time, for those who paid twice."""
    ranked = (
        select(
            OrderFact.member_id,
            OrderFact.paid_at,
            func.row_number().over(partition_by=OrderFact.member_id, order_by=OrderFact.paid_at).label("n"),
        )
        .where(OrderFact.tenant_id == tenant_id, OrderFact.member_id.in_(member_ids), OrderFact.paid_at.is_not(None))
        .subquery()
    )
    rows = await session.execute(select(ranked.c.member_id, ranked.c.paid_at).where(ranked.c.n == 2))
    return {member_id: paid_at for member_id, paid_at in rows}


def _spans(start: date, end: date, granularity: Granularity) -> tuple[list[Period], list[Period]]:
    """The cohorts' periods in [start, end], and the periods to follow them in, from start up to today."""
    if granularity == "day":
        raise InvalidInput("Cohorts are by week or month.", field="granularity")
    cohorts = periods(start, end, granularity, limit=MAX_COHORTS)
    horizon = (7 if granularity == "week" else 31) * MAX_OFFSETS
    until = min(max(day_of(datetime.now(REPORT_ZONE)), end), end + timedelta(horizon))
    # A month is up to 31 days, so the horizon may reach a few months past the offsets: cut them off.
    follow = periods(cohorts[0].start, until, granularity, limit=MAX_COHORTS + 2 * MAX_OFFSETS)
    follow = follow[: len(cohorts) + MAX_OFFSETS]
    return cohorts, follow


def _index(spans: list[Period], day: date) -> int:
    for i, span in enumerate(spans):
        if span.start <= day <= span.end:
            return i
    return -1 if day < spans[0].start else len(spans)


def _days(since: datetime, until: datetime) -> float:
    return max((until - since).total_seconds() / 86_400, 0.0)
