"""The KPI catalogue: each KPI's name, unit, definition and computation, in one place. docs/kpis.md is
generated from it (`python -m analytics_svc.kpis`), so the documented definition is the computed one.

Every KPI is computed per period (day, ISO week or calendar month, in the reporting zone) from the daily
counts and daily member sets, for the whole tenant or one community.
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from pyroaring import BitMap
from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import activity
from analytics_svc.activity import ACTIVE, INTERACTED, KINDS, ORDERED, PARTICIPATED, READ
from analytics_svc.models import ALL, DailyCount, DailyMembers, OrderFact
from qunyun_shared.problems import InvalidInput

Granularity = Literal["day", "week", "month"]
# The longest range each granularity answers in one query: beyond it a chart has more points than pixels.
MAX_PERIODS: dict[str, int] = {"day": 400, "week": 260, "month": 120}
# A breakdown takes the range as one period; ten years at most.
MAX_WHOLE_DAYS = 3660


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # inclusive

    def days(self) -> list[date]:
        return [self.start + timedelta(n) for n in range((self.end - self.start).days + 1)]


class Ledger:
    """The counts and member sets of a range, loaded once, and what KPIs ask of them."""

    def __init__(
        self, counts: dict[tuple[str, date], int], sets: dict[tuple[str, date], BitMap], before: dict[str, int]
    ):
        self._counts, self._sets, self._before = counts, sets, before

    def total(self, metric: str, period: Period) -> int:
        return sum(self._counts.get((metric, day), 0) for day in period.days())

    def distinct(self, kind: str, period: Period) -> int:
        return len(self.members_of(kind, period))

    def members_of(self, kind: str, period: Period) -> BitMap:
        """The members (numbers) who did `kind` on some day of the period."""
        days = [self._sets[(kind, day)] for day in period.days() if (kind, day) in self._sets]
        return BitMap.union(*days) if days else BitMap()

    def members_at(self, day: date) -> int:
        """Members at the end of `day`: every join minus every leave until then."""
        joined = self._before.get("joins", 0) + sum(
            v for (m, d), v in self._counts.items() if m == "joins" and d <= day
        )
        left = self._before.get("leaves", 0) + sum(
            v for (m, d), v in self._counts.items() if m == "leaves" and d <= day
        )
        return joined - left


Compute = Callable[[Ledger, Period], float | None]


@dataclass(frozen=True)
class Kpi:
    name: str
    unit: Literal["members", "rate", "fen", "score", "orders"]
    definition: str
    compute: Compute
    # How many days before a period its computation reads (trailing windows).
    lookback_days: int = 0
    # The member sets it reads: loading only those keeps a year's query from reading every kind's days.
    reads: tuple[str, ...] = ()


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _trailing(kind: str, days: int) -> Compute:
    def compute(ledger: Ledger, period: Period) -> float:
        return ledger.distinct(kind, Period(period.end - timedelta(days - 1), period.end))

    return compute


def _share_of_members(kind: str) -> Compute:
    def compute(ledger: Ledger, period: Period) -> float | None:
        return _ratio(ledger.distinct(kind, period), ledger.members_at(period.end))

    return compute


def _dau(ledger: Ledger, period: Period) -> float:
    days = period.days()
    return sum(ledger.distinct(ACTIVE, Period(day, day)) for day in days) / len(days)


CATALOGUE: dict[str, Kpi] = {
    kpi.name: kpi
    for kpi in [
        Kpi(
            "members_total",
            "members",
            "Members at the end of the period: joins minus leaves until then. For the tenant, a member counts "
            "once however many of its communities they are in, and leaves only on leaving the last.",
            lambda ledger, period: ledger.members_at(period.end),
        ),
        Kpi(
            "members_new",
            "members",
            "Members joining for the first time in the period: for the tenant, members joining their first "
            "of its communities; for a community, members who had never been in it. A member who comes back "
            "after leaving is a returning member, not a new one (members_total counts them again).",
            lambda ledger, period: ledger.total("first_joins", period),
        ),
        Kpi(
            "members_left",
            "members",
            "Leaves in the period (for the tenant: members leaving their last community).",
            lambda ledger, period: ledger.total("leaves", period),
        ),
        Kpi(
            "dau",
            "members",
            "Daily active members, averaged over the period's days. Active: any engagement with "
            "content, a post of one's own, a check-in or an order that day.",
            _dau,
            reads=(ACTIVE,),
        ),
        Kpi(
            "wau",
            "members",
            "Distinct members active in the 7 days ending with the period's last day.",
            _trailing(ACTIVE, 7),
            lookback_days=6,
            reads=(ACTIVE,),
        ),
        Kpi(
            "mau",
            "members",
            "Distinct members active in the 30 days ending with the period's last day.",
            _trailing(ACTIVE, 30),
            lookback_days=29,
            reads=(ACTIVE,),
        ),
        Kpi(
            "weekly_active_rate",
            "rate",
            "WAU divided by members_total at the period's end.",
            lambda ledger, period: _ratio(_trailing(ACTIVE, 7)(ledger, period) or 0, ledger.members_at(period.end)),
            lookback_days=6,
            reads=(ACTIVE,),
        ),
        Kpi(
            "interaction_rate",
            "rate",
            "Distinct members who liked, commented, shared or posted in the period, "
            "divided by members_total at its end.",
            _share_of_members(INTERACTED),
            reads=(INTERACTED,),
        ),
        Kpi(
            "content_read_rate",
            "rate",
            "Distinct members who viewed or completed content in the period, divided by members_total at its end.",
            _share_of_members(READ),
            reads=(READ,),
        ),
        Kpi(
            "activity_participation_rate",
            "rate",
            "Distinct members who checked in or engaged with activity "
            "content in the period, divided by members_total at its end.",
            _share_of_members(PARTICIPATED),
            reads=(PARTICIPATED,),
        ),
        Kpi(
            "order_conversion_rate",
            "rate",
            "Distinct members who placed an order in the period, divided by members_total at its end.",
            _share_of_members(ORDERED),
            reads=(ORDERED,),
        ),
        Kpi(
            "gmv_fen",
            "fen",
            "Paid order value in the period (by payment day), before refunds.",
            lambda ledger, period: ledger.total("gmv_fen", period),
        ),
        Kpi(
            "average_order_value_fen",
            "fen",
            "gmv_fen divided by the orders paid in the period.",
            lambda ledger, period: _ratio(ledger.total("gmv_fen", period), ledger.total("paid_orders", period)),
        ),
        Kpi(
            "paid_orders",
            "orders",
            "Orders paid in the period.",
            lambda ledger, period: ledger.total("paid_orders", period),
        ),
        Kpi(
            "referral_rate",
            "rate",
            "Of the members joining for the first time in the period (see members_new: the brand for the "
            "tenant, the community for a community), the share who came through an invitation.",
            lambda ledger, period: _ratio(ledger.total("referred_joins", period), ledger.total("first_joins", period)),
        ),
        Kpi(
            "nps",
            "score",
            "Net Promoter Score of the period's NPS answers: percentage of promoters (9-10) minus "
            "percentage of detractors (0-6).",
            lambda ledger, period: _nps(ledger, period),
        ),
        Kpi(
            "complaint_rate",
            "rate",
            "Survey answers that carry a complaint (answers.complaint true), divided by "
            "the distinct active members of the period.",
            lambda ledger, period: _ratio(ledger.total("complaints", period), ledger.distinct(ACTIVE, period)),
            reads=(ACTIVE,),
        ),
    ]
}
# Computed from orders, not from the daily ledger (see repurchase_rates).
REPURCHASE = Kpi(
    "repurchase_rate_30d",
    "rate",
    "Of the members who paid for an order in the period, the share who paid for another within 30 days after it.",
    lambda ledger, period: None,
)
NAMES = sorted([*CATALOGUE, REPURCHASE.name])


def every_kpi() -> list[Kpi]:
    return sorted([*CATALOGUE.values(), REPURCHASE], key=lambda kpi: kpi.name)


def unit_of(name: str) -> str:
    """The KPI's unit; refuses a name that is no KPI."""
    if name not in NAMES:
        raise InvalidInput(f"No KPI {name!r}; the KPIs are {', '.join(NAMES)}.", field="kpi")
    return REPURCHASE.unit if name == REPURCHASE.name else CATALOGUE[name].unit


def _nps(ledger: Ledger, period: Period) -> float | None:
    answers = ledger.total("nps_answers", period)
    promoters, detractors = ledger.total("promoters", period), ledger.total("detractors", period)
    return _ratio(100.0 * (promoters - detractors), answers)


def periods(
    start: date, end: date, granularity: Granularity | Literal["whole"], limit: int | None = None
) -> list[Period]:
    """The periods covering [start, end], the first and last cut to the range; refuses a reversed or too
    long range."""
    if end < start:
        raise InvalidInput(f"The range ends ({end}) before it starts ({start}).", field="to")
    if granularity == "whole":
        if (end - start).days >= MAX_WHOLE_DAYS:
            raise InvalidInput(f"A breakdown covers at most {MAX_WHOLE_DAYS} days.", field="from")
        return [Period(start, end)]
    found: list[Period] = []
    cursor = start
    while cursor <= end:
        if granularity == "day":
            last = cursor
        elif granularity == "week":
            last = cursor + timedelta(6 - cursor.weekday())
        else:
            following = date(cursor.year + cursor.month // 12, cursor.month % 12 + 1, 1)
            last = following - timedelta(1)
        found.append(Period(cursor, min(last, end)))
        cursor = last + timedelta(1)
        most = limit or MAX_PERIODS[granularity]
        if len(found) > most:
            raise InvalidInput(
                f"{start}..{end} has more than {most} {granularity}s; choose a coarser granularity or a shorter range.",
                field="granularity",
            )
    return found


async def series(
    session: AsyncSession,
    tenant_id: str,
    name: str,
    start: date,
    end: date,
    granularity: Granularity | Literal["whole"],
    community_id: uuid.UUID | None = None,
) -> list[tuple[Period, float | None]]:
    """The KPI's value for each period of the range."""
    unit_of(name)
    spans = periods(start, end, granularity)
    if name == REPURCHASE.name:
        return [(span, await repurchase_rate(session, tenant_id, span, community_id)) for span in spans]
    kpi = CATALOGUE[name]
    ledger = await load(session, tenant_id, community_id or ALL, start - timedelta(kpi.lookback_days), end, kpi.reads)
    return [(span, kpi.compute(ledger, span)) for span in spans]


async def load(
    session: AsyncSession,
    tenant_id: str,
    community_id: uuid.UUID,
    start: date,
    end: date,
    kinds: Sequence[str] = KINDS,
) -> Ledger:
    """The counts of the range and the member sets of `kinds` in it."""
    in_range = and_(DailyCount.tenant_id == tenant_id, DailyCount.community_id == community_id)
    counts = await session.execute(
        select(DailyCount.metric, DailyCount.day, DailyCount.value).where(
            in_range, DailyCount.day >= start, DailyCount.day <= end
        )
    )
    before = await session.execute(
        select(DailyCount.metric, func.sum(DailyCount.value))
        .where(in_range, DailyCount.metric.in_(("joins", "leaves")), DailyCount.day < start)
        .group_by(DailyCount.metric)
    )
    sets = await session.execute(
        select(DailyMembers.kind, DailyMembers.day, DailyMembers.members).where(
            DailyMembers.tenant_id == tenant_id,
            DailyMembers.community_id == community_id,
            DailyMembers.kind.in_(kinds),
            DailyMembers.day >= start,
            DailyMembers.day <= end,
        )
    )
    return Ledger(
        counts={(metric, day): value for metric, day, value in counts},
        sets={(kind, day): BitMap.deserialize(members) for kind, day, members in sets},
        before={metric: int(total) for metric, total in before},
    )


async def repurchase_rate(
    session: AsyncSession, tenant_id: str, period: Period, community_id: uuid.UUID | None
) -> float | None:
    starts, ends = activity.midnight(period.start), activity.midnight(period.end + timedelta(1))
    buyers = select(OrderFact.member_id).where(
        OrderFact.tenant_id == tenant_id,
        OrderFact.paid_at >= starts,
        OrderFact.paid_at < ends,
        *([OrderFact.community_id == community_id] if community_id is not None else []),
    )
    # Every payment of those members from the period's start to 30 days after its end, oldest first.
    paid = await session.execute(
        select(OrderFact.member_id, OrderFact.paid_at, OrderFact.community_id)
        .where(
            OrderFact.tenant_id == tenant_id,
            OrderFact.member_id.in_(buyers),
            OrderFact.paid_at >= starts,
            OrderFact.paid_at < ends + REPURCHASE_WINDOW,
        )
        .order_by(OrderFact.member_id, OrderFact.paid_at)
    )
    payments: dict[uuid.UUID, list[tuple[datetime, bool]]] = {}
    for member_id, paid_at, community in paid:
        if paid_at is None:  # not so: the query asked for payments in a range
            continue
        counted = starts <= paid_at < ends and (community_id is None or community == community_id)
        payments.setdefault(member_id, []).append((paid_at, counted))
    returned = sum(
        1
        for times in payments.values()
        if any(counted and any(at < later <= at + REPURCHASE_WINDOW for later, _ in times) for at, counted in times)
    )
    return _ratio(returned, len(payments))


REPURCHASE_WINDOW = timedelta(days=30)
