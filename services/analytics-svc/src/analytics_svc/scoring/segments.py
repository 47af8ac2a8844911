"""Keeps members' segments and churn flags current and announces their changes.

Each batch of events rescores the members it touched against their tenant's last fitted model, so a
segment follows an event within the batch's transaction. A periodic full recompute refits the model
(quintiles, BG/NBD, Gamma-Gamma) and rescores everyone, which is also how silence, with no event to
announce it, turns into churn risk. It writes only the members whose segment or flag changed: the scores
themselves, which drift with every day of silence, are computed when asked (analytics_svc.scoring.valuation).
One recompute of a tenant runs at a time (its model's lock), and it leaves alone the members events
rescore while it runs (analytics_svc.scoring.decisions). Members only imported history touched are not
rescored by their batch but marked, and judged once the history has stopped coming in
(analytics_svc.scoring.marks); a recompute judges them with everyone else.
"""

import asyncio
import dataclasses
import logging
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc import activity, locks
from analytics_svc.ingestion.records import MemberRecord
from analytics_svc.scoring import fitting, lifetime_value, rfm, roster
from analytics_svc.scoring.decisions import Decision, write_decisions
from analytics_svc.scoring.models import TenantModel
from qunyun_shared.db import one_of
from qunyun_shared.events.analytics import MemberChurnRiskV1, MemberSegmentChangedV1
from qunyun_shared.outbox import Outbox

log = logging.getLogger(__name__)

# The periodic refit looks at this many of the most overdue tenants for one no other replica is refitting.
REFIT_CANDIDATES = 10


@dataclasses.dataclass(frozen=True)
class Fit:
    """A tenant's fitted model as scoring uses it."""

    breaks: rfm.Breakpoints
    purchases: lifetime_value.BetaGeoParams | None
    spend: lifetime_value.GammaGammaParams | None

    @classmethod
    def of(cls, model: TenantModel) -> "Fit":
        return cls(
            rfm.Breakpoints(**{k: tuple(v) for k, v in model.breakpoints.items()}),
            lifetime_value.BetaGeoParams(**model.purchases) if model.purchases else None,
            lifetime_value.GammaGammaParams(**model.spend) if model.purchases and model.spend else None,
        )

    def score(self, members: rfm.Members) -> rfm.Scores:
        return rfm.score(members, self.breaks, self.purchases)


async def rescore(
    *,
    session: AsyncSession,
    outbox: Outbox,
    members: Sequence[MemberRecord],
    now: datetime,
) -> list[str]:
    """Decides anew the segment and churn flag of members live events of a batch touched (and it holds
    locked), each against their tenant's model, on their records, which the batch then writes with their
    facts; announces the changes. Returns the tenants with no model yet, whose first fit (`recompute`)
    reads the facts written."""
    by_tenant: dict[str, list[MemberRecord]] = {}
    for member in members:
        by_tenant.setdefault(member.tenant_id, []).append(member)
    models = await _models_of(session, by_tenant)
    unfitted = []
    for tenant_id, theirs in sorted(by_tenant.items()):
        model = models.get(tenant_id)
        if model is None:
            unfitted.append(tenant_id)
            continue
        touched = roster.of_facts(theirs, now)
        scores = Fit.of(model).score(touched.history)
        await announce(session=session, outbox=outbox, tenant_id=tenant_id, members=touched, scores=scores)
        for member, segment, flagged in zip(
            theirs, scores.segment.tolist(), scores.churn_flagged.tolist(), strict=True
        ):
            member.segment, member.churn_flagged, member.scored_at = segment, flagged, now
    return unfitted


async def _models_of(session: AsyncSession, tenant_ids: Collection[str]) -> dict[str, TenantModel]:
    found = await session.scalars(select(TenantModel).where(one_of(session, TenantModel.tenant_id, tenant_ids)))
    return {model.tenant_id: model for model in found}


async def hold_unfitted(*, session: AsyncSession, tenant_ids: Collection[str]) -> None:
    """Takes the model lock of each of these tenants that has no model yet, whose first fit the batch
    will make."""
    known = select(TenantModel.tenant_id).where(one_of(session, TenantModel.tenant_id, tenant_ids))
    fitted = set(await session.scalars(known))
    for tenant_id in sorted(set(tenant_ids) - fitted):
        await locks.hold_tenant_model(session=session, tenant_id=tenant_id)


async def recompute(
    *,
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    now: datetime,
    leaving_marked: bool = False,
) -> int:
    """Refits the tenant's model on all its members and decides each one's segment and churn flag anew,
    once the tenant's model lock is free; writes and announces only what changed, and takes back the marks
    imported history left (unless `leaving_marked`, as a first fit in a batch does: the members it marked
    are judged once their history is in); returns how many members there are. (Scores themselves are
    computed when asked: analytics_svc.scoring.valuation.)"""
    await locks.hold_tenant_model(session=session, tenant_id=tenant_id)
    everyone = await roster.of_tenant(session=session, tenant_id=tenant_id, now=now)
    model = await session.get(TenantModel, tenant_id, populate_existing=True) or TenantModel(tenant_id=tenant_id)
    # Seconds of numpy and scipy on a large tenant: in a worker thread, so the process keeps serving.
    fitted = await asyncio.to_thread(fitting.fit, everyone, activity.day_of(now))
    _store(model, fitted, members=len(everyone), now=now)
    session.add(model)
    await session.flush()  # the fit is stored before any member's row is locked for its decision
    scores = await asyncio.to_thread(Fit.of(model).score, everyone.history)
    marked = np.array([mark is not None for mark in everyone.marked], dtype=bool)
    changed = (scores.segment != everyone.segments) | (scores.churn_flagged != everyone.history.churn_flagged)
    deciding = (changed & ~marked) if leaving_marked else (changed | marked)
    written = await write_decisions(
        session=session, decisions=decisions_of(everyone, scores, np.flatnonzero(deciding).tolist()), now=now
    )
    # Members an event rescored meanwhile were announced by their batch.
    kept = [i for i in np.flatnonzero(changed & deciding).tolist() if everyone.numbers[i] in written]
    await announce(session=session, outbox=outbox, tenant_id=tenant_id, members=everyone, scores=scores, which=kept)
    return len(everyone)


def decisions_of(members: roster.Roster, scores: rfm.Scores, which: Iterable[int]) -> list[Decision]:
    """The decisions these members' scores make, each replacing the one read and taking back the mark read."""
    return [
        Decision(
            number=members.numbers[i],
            member_id=members.member_ids[i],
            replaces=members.scored_at[i],
            segment=str(scores.segment[i]),
            churn_flagged=bool(scores.churn_flagged[i]),
            unmarks=members.marked[i],
        )
        for i in which
    ]


def _store(model: TenantModel, fitted: fitting.TenantFit, *, members: int, now: datetime) -> None:
    model.breakpoints = dataclasses.asdict(fitted.breaks)
    model.purchases = None if fitted.purchases is None else dataclasses.asdict(fitted.purchases)
    model.spend = None if fitted.spend is None else dataclasses.asdict(fitted.spend)
    model.summary = dataclasses.asdict(fitted.totals) | {"observed_until": fitted.totals.observed_until.isoformat()}
    model.diagnostics = fitted.diagnostics()
    model.members, model.fitted_at = members, now
    if fitted.purchases_fit is not None and not fitted.purchases_fit.converged:
        log.warning("purchase model did not converge; scoring without it", extra={"tenant": model.tenant_id})
    if fitted.spend_fit is not None and not fitted.spend_fit.converged:
        log.warning("spend model did not converge; no lifetime values", extra={"tenant": model.tenant_id})


async def refit_next(*, session: AsyncSession, outbox: Outbox, now: datetime, every: timedelta) -> int:
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
        if await locks.try_hold_tenant_model(session=session, tenant_id=tenant_id) and await _still_due(
            session, tenant_id, overdue
        ):
            await recompute(session=session, outbox=outbox, tenant_id=tenant_id, now=now)
            return 1
    return 0


async def _still_due(session: AsyncSession, tenant_id: str, overdue: datetime) -> bool:
    """Whether the tenant's fit is still overdue: another replica may have refitted it since it was listed."""
    fitted_at = await session.scalar(select(TenantModel.fitted_at).where(TenantModel.tenant_id == tenant_id))
    return fitted_at is not None and fitted_at <= overdue


async def announce(
    *,
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    members: roster.Roster,
    scores: rfm.Scores,
    which: Iterable[int] | None = None,
) -> None:
    """Announces, as today's judgement, how these members' scores change what they were last given (all of
    `members`, or those `which` names): `member.segment_changed` for a new segment, `member.churn_risk` for
    a flag raised or cleared. Even a judgement that only imported history moved is news now: the history
    is in, and the member is at risk (or no longer) today."""
    events: list[Any] = []
    for i in range(len(members)) if which is None else which:
        before, after = str(members.segments[i]) or None, str(scores.segment[i])
        if after != before:
            events.append(
                MemberSegmentChangedV1(member_id=members.member_ids[i], from_segment=before, to_segment=after)
            )
        flagged = bool(scores.churn_flagged[i])
        if flagged != bool(members.history.churn_flagged[i]):
            events.append(
                MemberChurnRiskV1(
                    member_id=members.member_ids[i],
                    score=round(float(scores.churn_score[i]), 4),
                    reasons=scores.reasons(i) if flagged else [],
                    flagged=flagged,
                )
            )
    await outbox.add(session, tenant_id=tenant_id, payloads=events)
