"""Community health: the domain's evaluation model of four dimensions and twelve metrics, each metric
scored against the operators' typical target, and the community's lifecycle stage by written rules.
Definitions: docs/kpis.md (generated from METRICS and the stage rules below)."""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.activity import INTERACTED, READ, day_of
from analytics_svc.communities.models import CommunityMembership, CommunityState
from analytics_svc.kpis import ledger
from analytics_svc.kpis.ledger import Ledger, Period
from analytics_svc.kpis.models import ALL, DailyCount
from qunyun_shared.db import upsert
from qunyun_shared.events.analytics import CommunityStageChangedV1
from qunyun_shared.outbox import Outbox

WINDOW_DAYS = 30


@dataclass(frozen=True)
class Window:
    """What the metrics read: the community's and the tenant's ledgers over the last WINDOW_DAYS."""

    community: Ledger
    tenant: Ledger
    period: Period

    @property
    def members(self) -> int:
        return self.community.members_at(self.period.end)


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _growth(w: Window) -> float | None:
    before = w.community.members_at(w.period.start - timedelta(1))
    return _ratio(w.members - before, before)


def _share(kind: str) -> Callable[[Window], float | None]:
    return lambda w: _ratio(w.community.distinct(kind, w.period), w.members)


def _weekly_active(w: Window) -> float | None:
    week = Period(w.period.end - timedelta(6), w.period.end)
    return _ratio(w.community.distinct("active", week), w.members)


def _interactions_per_post(w: Window) -> float | None:
    interactions = sum(w.community.total(m, w.period) for m in ("likes", "comments", "shares"))
    return _ratio(interactions, w.community.total("posts", w.period))


def _order_value_vs_tenant(w: Window) -> float | None:
    def value(ledger: Ledger) -> float | None:
        return _ratio(ledger.total("gmv_fen", w.period), ledger.total("paid_orders", w.period))

    mine, theirs = value(w.community), value(w.tenant)
    return _ratio(mine, theirs) if mine is not None and theirs is not None else None


def _gmv_share_vs_members(w: Window) -> float | None:
    gmv_share = _ratio(w.community.total("gmv_fen", w.period), w.tenant.total("gmv_fen", w.period))
    member_share = _ratio(w.members, w.tenant.members_at(w.period.end))
    return _ratio(gmv_share, member_share) if gmv_share is not None and member_share is not None else None


def _complaint_rate(w: Window) -> float | None:
    return _ratio(w.community.total("complaints", w.period), w.community.distinct("active", w.period))


def _nps(w: Window) -> float | None:
    answers = w.community.total("nps_answers", w.period)
    return _ratio(
        100.0 * (w.community.total("promoters", w.period) - w.community.total("detractors", w.period)), answers
    )


@dataclass(frozen=True)
class Metric:
    dimension: str
    name: str
    definition: str
    target: float
    compute: Callable[[Window], float | None]
    lower_is_better: bool = False

    def score(self, value: float | None) -> float | None:
        """0-100: the share of the target reached (or, for a rate to keep low, not exceeded)."""
        if value is None:
            return None
        reached = (1.0 - value / self.target) if self.lower_is_better else value / self.target
        return round(100.0 * min(max(reached, 0.0), 1.0), 1)


METRICS = [
    Metric("members", "member_growth", "Net member growth over the window", 0.10, _growth),
    Metric("members", "weekly_active_rate", "Members active in the last 7 days / members", 0.50, _weekly_active),
    Metric("members", "interaction_rate", "Members who interacted / members", 0.25, _share(INTERACTED)),
    Metric(
        "content",
        "ugc_share",
        "Posts by members / all posts",
        0.30,
        lambda w: _ratio(w.community.total("ugc_posts", w.period), w.community.total("posts", w.period)),
    ),
    Metric("content", "interactions_per_post", "Likes, comments and shares per post", 5.0, _interactions_per_post),
    Metric("content", "content_read_rate", "Members who read / members", 0.60, _share(READ)),
    Metric("business", "order_conversion_rate", "Members who ordered / members", 0.15, _share("ordered")),
    Metric("business", "order_value_vs_tenant", "Average order value / the tenant's", 1.0, _order_value_vs_tenant),
    Metric(
        "business",
        "gmv_share_vs_members",
        "Share of the tenant's GMV / share of its members",
        1.0,
        _gmv_share_vs_members,
    ),
    Metric("health", "complaint_rate", "Complaints / active members (kept under 5%)", 0.05, _complaint_rate, True),
    Metric(
        "health",
        "referral_rate",
        "Invited first joins / first joins",
        0.10,
        lambda w: _ratio(w.community.total("referred_joins", w.period), w.community.total("first_joins", w.period)),
    ),
    Metric("health", "nps", "Net Promoter Score", 40.0, _nps),
]
DIMENSIONS = ("members", "content", "business", "health")

# Lifecycle stages (docs/kpis.md): the first rule that holds decides.
STARTUP_DAYS, STARTUP_MEMBERS = 30, 30
DECLINE_HEALTH, DECLINE_GROWTH = 40.0, -0.05
MATURE_DAYS, MATURE_GROWTH = 90, 0.05


@dataclass(frozen=True)
class Health:
    community_id: uuid.UUID
    as_of: date
    members: int
    age_days: int
    score: float | None
    dimensions: dict[str, float | None]
    metrics: dict[str, tuple[float | None, float | None]]  # name: (value, score)
    stage: str


async def evaluate(*, session: AsyncSession, tenant_id: str, community_id: uuid.UUID, as_of: date) -> Health:
    """The community's health over the WINDOW_DAYS ending `as_of`, and the stage it is in."""
    start = as_of - timedelta(WINDOW_DAYS - 1)
    period = Period(start, as_of)
    window = Window(
        community=await ledger.load(
            session=session, tenant_id=tenant_id, community_id=community_id, start=start, end=as_of
        ),
        tenant=await ledger.load(session=session, tenant_id=tenant_id, community_id=ALL, start=start, end=as_of),
        period=period,
    )
    metrics = {}
    dimensions: dict[str, list[float]] = {d: [] for d in DIMENSIONS}
    for metric in METRICS:
        value = metric.compute(window)
        scored = metric.score(value)
        metrics[metric.name] = (None if value is None else round(value, 4), scored)
        if scored is not None:
            dimensions[metric.dimension].append(scored)
    by_dimension = {d: round(sum(s) / len(s), 1) if s else None for d, s in dimensions.items()}
    known = [s for s in by_dimension.values() if s is not None]
    score = round(sum(known) / len(known), 1) if known else None
    first = await session.scalar(
        select(func.min(DailyCount.day)).where(
            DailyCount.tenant_id == tenant_id, DailyCount.community_id == community_id, DailyCount.metric == "joins"
        )
    )
    age = (as_of - first).days if first is not None else 0
    stage = stage_of(age, window.members, score, _growth(window))
    return Health(community_id, as_of, window.members, age, score, by_dimension, metrics, stage)


def stage_of(age_days: int, members: int, health: float | None, growth: float | None) -> str:
    if age_days < STARTUP_DAYS or members < STARTUP_MEMBERS:
        return "startup"
    if (health is not None and health < DECLINE_HEALTH) or (growth is not None and growth < DECLINE_GROWTH):
        return "decline"
    if age_days >= MATURE_DAYS and (growth is None or growth < MATURE_GROWTH):
        return "mature"
    return "growth"


async def evaluate_due(
    *, session: AsyncSession, outbox: Outbox, now: datetime, every: timedelta, batch: int = 20
) -> int:
    """The periodic evaluation: up to `batch` communities not evaluated for `every`, each stage change
    announced. Replicas skip communities another is evaluating."""
    unseen = await session.execute(
        select(CommunityMembership.tenant_id, CommunityMembership.community_id)
        .outerjoin(
            CommunityState,
            (CommunityState.tenant_id == CommunityMembership.tenant_id)
            & (CommunityState.community_id == CommunityMembership.community_id),
        )
        .where(CommunityState.community_id.is_(None))
    )
    new = [{"tenant_id": t, "community_id": c} for t, c in unseen]
    if new:
        await session.execute(upsert(session, CommunityState.__table__).on_conflict_do_nothing(), new)
    due = (
        await session.scalars(
            select(CommunityState)
            .where((CommunityState.evaluated_at.is_(None)) | (CommunityState.evaluated_at <= now - every))
            .order_by(CommunityState.evaluated_at.nulls_first())
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for state in due:
        health = await evaluate(
            session=session,
            tenant_id=state.tenant_id,
            community_id=state.community_id,
            as_of=day_of(now) - timedelta(1),
        )
        if health.stage != state.stage:
            changed = CommunityStageChangedV1(
                community_id=state.community_id, from_stage=state.stage, to_stage=health.stage
            )
            await outbox.add(session, tenant_id=state.tenant_id, payloads=[changed])
        state.stage, state.health, state.evaluated_at = health.stage, health.score, now
    return len(due)
