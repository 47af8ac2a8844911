"""Three-level monitoring: thresholds on KPIs, evaluated over the last complete week, an alert raised
once when a rule enters a breach (not at every evaluation), and resolved when it leaves it."""

import math
import uuid
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.activity import day_of
from analytics_svc.alerts.models import Alert, AlertRule
from analytics_svc.alerts.schemas import AlertRuleCreate
from analytics_svc.communities import service as communities
from analytics_svc.exceptions import AlertRuleNotFound
from analytics_svc.kpis import catalogue
from analytics_svc.kpis import service as kpis
from qunyun_shared.events.analytics import AlertRaisedV1
from qunyun_shared.outbox import Outbox

WEEK = timedelta(days=7)


async def create_rule(*, session: AsyncSession, tenant_id: str, rule_in: AlertRuleCreate, now: datetime) -> AlertRule:
    """Adds a rule watching a KPI of the tenant or of one of its communities."""
    catalogue.unit_of(rule_in.kpi)
    if rule_in.community_id is not None:
        await communities.require_community(session=session, tenant_id=tenant_id, community_id=rule_in.community_id)
    rule = AlertRule(tenant_id=tenant_id, created_at=now, breached=False, **rule_in.model_dump())
    session.add(rule)
    await session.flush()
    return rule


async def rules_of(*, session: AsyncSession, tenant_id: str) -> list[AlertRule]:
    """The tenant's rules, oldest first."""
    found = await session.scalars(
        select(AlertRule).where(AlertRule.tenant_id == tenant_id).order_by(AlertRule.created_at, AlertRule.id)
    )
    return list(found)


async def delete_rule(*, session: AsyncSession, tenant_id: str, rule_id: uuid.UUID) -> None:
    """Deletes one of the tenant's rules."""
    rule = await session.get(AlertRule, rule_id)
    if rule is None or rule.tenant_id != tenant_id:
        raise AlertRuleNotFound(f"No alert rule {rule_id}.")
    await session.delete(rule)
    await session.flush()


async def alerts_of(*, session: AsyncSession, tenant_id: str, open_only: bool, limit: int) -> list[Alert]:
    """The tenant's alerts, newest first, only the open ones if asked."""
    query = select(Alert).where(Alert.tenant_id == tenant_id)
    if open_only:
        query = query.where(Alert.resolved_at.is_(None))
    return list(await session.scalars(query.order_by(Alert.raised_at.desc(), Alert.id).limit(limit)))


async def measure(*, session: AsyncSession, rule: AlertRule, through: date) -> float | None:
    """The rule's KPI over the week ending `through`; for a change rule, its change in percent against
    the week before."""

    async def week_ending(last: date) -> float | None:
        [(_, value)] = await kpis.series(
            session=session,
            tenant_id=rule.tenant_id,
            name=rule.kpi,
            start=last - WEEK + timedelta(1),
            end=last,
            granularity="whole",
            community_id=rule.community_id,
        )
        return value

    value = await week_ending(through)
    if rule.condition in ("below", "above") or value is None:
        return value
    before = await week_ending(through - WEEK)
    if not before:
        return None
    return 100.0 * (value - before) / abs(before)


def breaches(rule: AlertRule, value: float | None) -> bool:
    if value is None or math.isnan(value):
        return False
    match rule.condition:
        case "below":
            return value < rule.threshold
        case "above":
            return value > rule.threshold
        case "drop_pct":
            return value <= -rule.threshold
        case _:  # rise_pct
            return value >= rule.threshold


async def evaluate_due(
    *, session: AsyncSession, outbox: Outbox, now: datetime, every: timedelta, batch: int = 50
) -> int:
    """The periodic evaluation of rules not evaluated for `every`; replicas skip rules another holds."""
    due = (
        await session.scalars(
            select(AlertRule)
            .where((AlertRule.evaluated_at.is_(None)) | (AlertRule.evaluated_at <= now - every))
            .order_by(AlertRule.evaluated_at.nulls_first(), AlertRule.id)
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for rule in due:
        await evaluate(session=session, outbox=outbox, rule=rule, now=now)
    return len(due)


async def evaluate(*, session: AsyncSession, outbox: Outbox, rule: AlertRule, now: datetime) -> Alert | None:
    """Evaluates one rule over the last complete week; returns the alert it raised, if it entered a breach."""
    value = await measure(session=session, rule=rule, through=day_of(now) - timedelta(1))
    breached = breaches(rule, value)
    raised = None
    if breached and not rule.breached:
        assert value is not None
        raised = Alert(
            rule_id=rule.id,
            tenant_id=rule.tenant_id,
            kpi=rule.kpi,
            level=rule.level,
            value=value,
            threshold=rule.threshold,
            community_id=rule.community_id,
            raised_at=now,
        )
        session.add(raised)
        await session.flush()
        event = AlertRaisedV1(
            alert_id=raised.id,
            kpi=rule.kpi,
            level=rule.level,
            value=value,
            threshold=rule.threshold,
            community_id=rule.community_id,
        )
        await outbox.add(session, tenant_id=rule.tenant_id, payloads=[event])
    elif rule.breached and not breached:
        open_alerts = await session.scalars(select(Alert).where(Alert.rule_id == rule.id, Alert.resolved_at.is_(None)))
        for alert in open_alerts:
            alert.resolved_at = now
    rule.breached, rule.last_value, rule.evaluated_at = breached, value, now
    return raised
