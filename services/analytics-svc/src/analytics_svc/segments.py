"""Keeps members' scores, segments and churn flags current and announces their changes.

Each batch of events rescores the members it touched against their tenant's last fitted model, so a
segment follows an event within the batch's transaction. A periodic full recompute refits the model
(quintiles, BG/NBD, Gamma-Gamma) and rescores everyone, which is also how silence, with no event to
announce it, turns into churn risk. One recompute of a tenant runs at a time (its model's lock), and it
leaves alone the members events rescore while it runs (refit_writes).
"""

import dataclasses
import logging
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import activity, lifetime_value, locks, scoring
from analytics_svc.models import MemberFacts, TenantModel
from analytics_svc.refit_writes import Rescored, write_scores
from qunyun_shared.events.analytics import MemberChurnRiskV1, MemberSegmentChangedV1
from qunyun_shared.outbox import Outbox

log = logging.getLogger(__name__)

DAY = 86_400.0
# Fewer repeat buyers than this and a purchase model would be noise; scoring falls back on silence.
MIN_REPEAT_BUYERS = 50
LTV_MONTHS = 12
MONTHLY_DISCOUNT = 0.01
# The periodic refit looks at this many of the most overdue tenants for one no other replica is refitting.
REFIT_CANDIDATES = 10

SCORED_COLUMNS = [
    "number",
    "member_id",
    "tenant_id",
    "first_joined_at",
    "last_active_at",
    "first_order_at",
    "last_order_at",
    "orders",
    "spend_fen",
    "first_order_fen",
    "engagement_fast",
    "engagement_slow",
    "engagement_at",
    "segment",
    "churn_flagged",
    "scored_at",
]


async def rescore(
    session: AsyncSession, outbox: Outbox, members: Sequence[MemberFacts], now: datetime | None = None
) -> None:
    """Rescores members a batch touched, each against their tenant's model (fitted first if the tenant
    has none yet)."""
    now = now or datetime.now(UTC)
    by_tenant: dict[str, list[MemberFacts]] = {}
    for member in members:
        by_tenant.setdefault(member.tenant_id, []).append(member)
    for tenant_id, theirs in sorted(by_tenant.items()):
        model = await session.get(TenantModel, tenant_id)
        if model is None:
            await recompute(session, outbox, tenant_id, now)
            continue
        facts = _columns([tuple(getattr(m, column) for column in SCORED_COLUMNS) for m in theirs])
        changes = _score(facts, _arrays(facts, now), model, now)
        for member, change in zip(theirs, changes, strict=True):
            for name, value in change.items():
                if name != "number":
                    setattr(member, name, value)
        await outbox.add(session, tenant_id=tenant_id, payloads=_announcements(facts, changes))


async def hold_unfitted(session: AsyncSession, tenant_ids: Collection[str]) -> None:
    """Takes the model lock of each of these tenants that has no model yet, whose first fit the batch
    will make."""
    fitted = set(await session.scalars(select(TenantModel.tenant_id).where(TenantModel.tenant_id.in_(tenant_ids))))
    for tenant_id in sorted(set(tenant_ids) - fitted):
        await locks.hold_tenant_model(session, tenant_id)


async def recompute(session: AsyncSession, outbox: Outbox, tenant_id: str, now: datetime) -> int:
    """Refits the tenant's model on all its members and rescores them, once the tenant's model lock is
    free; returns how many members there are."""
    await locks.hold_tenant_model(session, tenant_id)
    columns = [getattr(MemberFacts, c) for c in SCORED_COLUMNS]
    found = await session.execute(select(*columns).where(MemberFacts.tenant_id == tenant_id))
    facts = _columns([tuple(row) for row in found])
    members = _arrays(facts, now)
    model = await session.get(TenantModel, tenant_id, populate_existing=True) or TenantModel(tenant_id=tenant_id)
    _fit(model, facts, members, now)
    session.add(model)
    changes = _score(facts, members, model, now)
    await _write_and_announce(session, outbox, tenant_id, facts, changes)
    return len(changes)


async def _write_and_announce(
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    facts: dict[str, Sequence[Any]],
    changes: Sequence[dict[str, Any]],
) -> None:
    """Writes a recompute's scores and announces the changes of the members it did write (not of those an
    event rescored meanwhile, whose batch announced theirs)."""
    written = await write_scores(
        session,
        [
            Rescored(member_id=member_id, replaces=replaces, scores=change)
            for member_id, replaces, change in zip(facts["member_id"], facts["scored_at"], changes, strict=True)
        ],
    )
    kept = [i for i, change in enumerate(changes) if change["number"] in written]
    before: dict[str, Sequence[Any]] = {column: [values[i] for i in kept] for column, values in facts.items()}
    await outbox.add(session, tenant_id=tenant_id, payloads=_announcements(before, [changes[i] for i in kept]))


def _columns(rows: Sequence[tuple[Any, ...]]) -> dict[str, Sequence[Any]]:
    """Rows of SCORED_COLUMNS, column by column."""
    transposed = list(zip(*rows, strict=True)) if rows else [() for _ in SCORED_COLUMNS]
    return dict(zip(SCORED_COLUMNS, transposed, strict=True))


async def refit_next(session: AsyncSession, outbox: Outbox, now: datetime, every: timedelta) -> int:
    """The periodic full recompute: of the tenants whose fit is over `every` old, the most overdue one no
    other replica (or request) is refitting, if any (1 if one was done)."""
    overdue = now - every
    candidates = await session.scalars(
        select(TenantModel.tenant_id)
        .where(TenantModel.fitted_at <= overdue)
        .order_by(TenantModel.fitted_at)
        .limit(REFIT_CANDIDATES)
    )
    for tenant_id in candidates.all():
        if await locks.try_hold_tenant_model(session, tenant_id) and await _still_due(session, tenant_id, overdue):
            await recompute(session, outbox, tenant_id, now)
            return 1
    return 0


async def _still_due(session: AsyncSession, tenant_id: str, overdue: datetime) -> bool:
    """Whether the tenant's fit is still overdue: another replica may have refitted it since it was listed."""
    fitted_at = await session.scalar(select(TenantModel.fitted_at).where(TenantModel.tenant_id == tenant_id))
    return fitted_at is not None and fitted_at <= overdue


def _arrays(facts: dict[str, Sequence[Any]], now: datetime) -> scoring.Members:
    def days_since(column: str) -> scoring.Floats:
        return np.array(
            [(now - v).total_seconds() / DAY if v is not None else np.nan for v in facts[column]], dtype=float
        )

    engaged = np.nan_to_num(days_since("engagement_at"), nan=0.0).clip(min=0.0) * DAY

    def decayed(column: str, half_life: timedelta) -> scoring.Floats:
        counts = np.array([v or 0.0 for v in facts[column]], dtype=float)
        now_counts: scoring.Floats = counts * np.exp(-np.log(2) * engaged / half_life.total_seconds())
        return now_counts

    return scoring.Members(
        days_since_active=days_since("last_active_at"),
        days_since_joined=days_since("first_joined_at"),
        days_since_first_order=days_since("first_order_at"),
        days_since_last_order=days_since("last_order_at"),
        orders=np.array([v or 0 for v in facts["orders"]], dtype=float),
        spend_fen=np.array([v or 0 for v in facts["spend_fen"]], dtype=float),
        engagement_fast=decayed("engagement_fast", activity.FAST_HALF_LIFE),
        engagement_slow=decayed("engagement_slow", activity.SLOW_HALF_LIFE),
        churn_flagged=np.array([bool(v) for v in facts["churn_flagged"]], dtype=bool),
    )


def _fit(model: TenantModel, facts: dict[str, Sequence[Any]], members: scoring.Members, now: datetime) -> None:
    breaks = scoring.Breakpoints.of(scoring.silent_days(members), members.orders, members.spend_fen)
    model.breakpoints = dataclasses.asdict(breaks)
    bought = members.orders > 0
    model.purchases = model.spend = None
    if int((members.orders > 1).sum()) >= MIN_REPEAT_BUYERS:
        try:
            purchases = lifetime_value.fit_beta_geo(
                frequency=members.orders[bought] - 1,
                recency=members.days_since_first_order[bought] - members.days_since_last_order[bought],
                T=members.days_since_first_order[bought],
            )
        except lifetime_value.ModelDidNotConverge:
            log.warning("purchase model did not converge; scoring without it", extra={"tenant": model.tenant_id})
            _fitted(model, members, now)
            return
        model.purchases = dataclasses.asdict(purchases)
        # Repeat buyers whose repeat orders were all refunded spent nothing the spend model could take.
        average = _repeat_average(facts, members)
        spent = (members.orders > 1) & (average > 0)
        try:
            spend = lifetime_value.fit_gamma_gamma(frequency=members.orders[spent] - 1, monetary_value=average[spent])
        except lifetime_value.ModelDidNotConverge:
            log.warning("spend model did not converge; no lifetime values", extra={"tenant": model.tenant_id})
        else:
            model.spend = dataclasses.asdict(spend)
    _fitted(model, members, now)


def _fitted(model: TenantModel, members: scoring.Members, now: datetime) -> None:
    model.members, model.fitted_at = len(members.orders), now


def _repeat_average(facts: dict[str, Sequence[Any]], members: scoring.Members) -> scoring.Floats:
    """Each member's average order value after the first (the Gamma-Gamma convention); 0 below two orders."""
    first = np.array([v or 0 for v in facts["first_order_fen"]], dtype=float)
    repeats = members.orders - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(repeats > 0, np.maximum(members.spend_fen - first, 0) / repeats, 0.0)


def _score(
    facts: dict[str, Sequence[Any]], members: scoring.Members, model: TenantModel, now: datetime
) -> list[dict[str, Any]]:
    """Each member's new scores, as column values."""
    if not len(members.orders):
        return []
    breaks = scoring.Breakpoints(**{k: tuple(v) for k, v in model.breakpoints.items()})
    purchases = lifetime_value.BetaGeoParams(**model.purchases) if model.purchases else None
    scores = scoring.score(members, breaks, purchases)
    ltv = np.full(members.orders.shape, np.nan)
    if purchases is not None and model.spend:
        bought = members.orders > 0
        ltv[bought] = lifetime_value.lifetime_value(
            purchases,
            lifetime_value.GammaGammaParams(**model.spend),
            frequency=members.orders[bought] - 1,
            recency=members.days_since_first_order[bought] - members.days_since_last_order[bought],
            T=members.days_since_first_order[bought],
            monetary_value=_repeat_average(facts, members)[bought],
            months=LTV_MONTHS,
            discount_rate=MONTHLY_DISCOUNT,
        )
    columns = zip(
        facts["number"],
        scores.recency.tolist(),
        scores.frequency.tolist(),
        scores.monetary.tolist(),
        scores.segment.tolist(),
        np.round(scores.churn_score, 4).tolist(),
        scores.churn_flagged.tolist(),
        scores.reasons,
        [None if v != v else v for v in scores.probability_alive.tolist()],  # NaN: no purchase model
        [None if v != v else int(v) for v in ltv.tolist()],
        strict=True,
    )
    names = (
        "number",
        "recency_score",
        "frequency_score",
        "monetary_score",
        "segment",
        "churn_score",
        "churn_flagged",
        "churn_reasons",
        "probability_alive",
        "lifetime_value_fen",
    )
    return [dict(zip(names, values, strict=True)) | {"scored_at": now} for values in columns]


def _announcements(facts: dict[str, Sequence[Any]], changes: Sequence[dict[str, Any]]) -> list[Any]:
    """`member.segment_changed` for a new segment, `member.churn_risk` for a newly raised flag."""
    events: list[Any] = []
    for member_id, segment, flagged, after in zip(
        facts["member_id"], facts["segment"], facts["churn_flagged"], changes, strict=True
    ):
        if after["segment"] != segment:
            events.append(
                MemberSegmentChangedV1(member_id=member_id, from_segment=segment, to_segment=after["segment"])
            )
        if after["churn_flagged"] and not flagged:
            events.append(
                MemberChurnRiskV1(member_id=member_id, score=after["churn_score"], reasons=after["churn_reasons"])
            )
    return events
