"""The KPI catalogue: each KPI's name, unit, definition and computation, in one place. docs/kpis.md is
generated from it (`python -m analytics_svc.kpis.reference`), so the documented definition is the computed
one.

Every KPI is computed per period (day, ISO week or calendar month, in the reporting zone) from the daily
counts and daily member sets, for the whole tenant or one community.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import activity
from analytics_svc.activity import ACTIVE, INTERACTED, ORDERED, PARTICIPATED, READ
from analytics_svc.ingestion.models import OrderFact
from analytics_svc.kpis.ledger import Ledger, Period
from qunyun_shared.problems import InvalidInput

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


async def repurchase_rate(
    *, session: AsyncSession, tenant_id: str, period: Period, community_id: uuid.UUID | None
) -> float | None:
    """Of the members who paid in the period, the share who paid again within 30 days after."""
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
