"""Automation rules as operators write and read them: created (by hand or from a playbook), enabled,
disabled, deleted, and the log of their runs; `engine` evaluates them."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.automation.models import AutomationDeferral, AutomationRule, AutomationRun
from campaign_svc.automation.schemas import (
    Action,
    AddPoints,
    Condition,
    FrequencyCap,
    IssueCoupon,
    Playbook,
    PlaybookCreate,
    RuleCreate,
    Trigger,
)
from campaign_svc.campaigns import service as campaigns
from campaign_svc.coupons import service as coupons
from campaign_svc.exceptions import AutomationRuleNotFound
from qunyun_shared.pagination import decode_time_cursor, encode_time_cursor


async def create_rule(*, session: AsyncSession, tenant_id: str, rule_in: RuleCreate) -> AutomationRule:
    """Creates a rule whose coupon templates and campaign are the tenant's own."""
    for action in rule_in.actions:
        if isinstance(action, IssueCoupon):
            await coupons.get_template(session=session, tenant_id=tenant_id, template_id=action.coupon_template_id)
    if rule_in.campaign_id is not None:
        await campaigns.get_campaign(session=session, tenant_id=tenant_id, campaign_id=rule_in.campaign_id)
    now = datetime.now(UTC)
    rule = AutomationRule(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        name=rule_in.name,
        enabled=rule_in.enabled,
        trigger=rule_in.trigger,
        conditions=[condition.model_dump(mode="json") for condition in rule_in.conditions],
        actions=[action.model_dump(mode="json") for action in rule_in.actions],
        frequency_cap=rule_in.frequency_cap.model_dump() if rule_in.frequency_cap else None,
        campaign_id=rule_in.campaign_id,
        created_at=now,
        updated_at=now,
    )
    session.add(rule)
    await session.flush()
    return rule


async def get_rule(*, session: AsyncSession, tenant_id: str, rule_id: uuid.UUID) -> AutomationRule:
    """One of the tenant's rules; another tenant's is not found."""
    rule = await session.get(AutomationRule, rule_id)
    if rule is None or rule.tenant_id != tenant_id:
        raise AutomationRuleNotFound(f"No automation rule {rule_id}.")
    return rule


async def list_rules(*, session: AsyncSession, tenant_id: str, trigger: str | None = None) -> list[AutomationRule]:
    """The tenant's rules, newest first."""
    query = select(AutomationRule).where(AutomationRule.tenant_id == tenant_id)
    if trigger is not None:
        query = query.where(AutomationRule.trigger == trigger)
    return list(await session.scalars(query.order_by(AutomationRule.created_at.desc(), AutomationRule.id)))


async def set_enabled(*, session: AsyncSession, tenant_id: str, rule_id: uuid.UUID, enabled: bool) -> AutomationRule:
    """Enables or disables a rule; a disabled rule's deferred firings are skipped when due."""
    rule = await get_rule(session=session, tenant_id=tenant_id, rule_id=rule_id)
    if rule.enabled != enabled:
        rule.enabled, rule.updated_at = enabled, datetime.now(UTC)
        await session.flush()
    return rule


async def delete_rule(*, session: AsyncSession, tenant_id: str, rule_id: uuid.UUID) -> None:
    """Deletes a rule; its runs stay in the log, those still deferred as skipped."""
    rule = await get_rule(session=session, tenant_id=tenant_id, rule_id=rule_id)
    pending = select(AutomationRun.id).where(AutomationRun.rule_id == rule.id, AutomationRun.outcome == "deferred")
    await session.execute(delete(AutomationDeferral).where(AutomationDeferral.run_id.in_(pending)))
    await session.execute(
        update(AutomationRun)
        .where(AutomationRun.rule_id == rule.id, AutomationRun.outcome == "deferred")
        .values(outcome="skipped", reason="rule deleted", executed_at=datetime.now(UTC))
    )
    await session.delete(rule)
    await session.flush()


@dataclass(frozen=True)
class _Playbook:
    name: str
    trigger: Trigger
    conditions: tuple[Condition, ...] = ()
    frequency_cap: FrequencyCap | None = None


PLAYBOOKS: dict[str, _Playbook] = {
    "welcome_pack": _Playbook(
        "新人礼包", "member.joined", (Condition(subject="member", field="communities_joined", op="eq", value=1),)
    ),
    "first_order": _Playbook("首单优惠", "member.joined"),
    "birthday": _Playbook("生日特权", "member.birthday"),
    # A churn-risk score may cross its threshold again within days; one gift a month is enough.
    "win_back": _Playbook("专属回归礼", "member.churn_risk", frequency_cap=FrequencyCap(max_fires=1, per_days=30)),
}


async def create_playbook(
    *, session: AsyncSession, tenant_id: str, playbook: Playbook, body: PlaybookCreate
) -> AutomationRule:
    """Creates the playbook's rule, charged to the campaign of its coupon template."""
    template = await coupons.get_template(session=session, tenant_id=tenant_id, template_id=body.coupon_template_id)
    plan = PLAYBOOKS[playbook]
    actions: list[Action] = [IssueCoupon(type="issue_coupon", coupon_template_id=template.id)]
    if body.points:
        actions.append(AddPoints(type="add_points", points=body.points))
    rule_in = RuleCreate(
        name=body.name or plan.name,
        trigger=plan.trigger,
        conditions=list(plan.conditions),
        actions=actions,
        frequency_cap=body.frequency_cap or plan.frequency_cap,
        campaign_id=template.campaign_id,
    )
    return await create_rule(session=session, tenant_id=tenant_id, rule_in=rule_in)


async def runs_of(
    *,
    session: AsyncSession,
    tenant_id: str,
    rule_id: uuid.UUID | None = None,
    member_id: uuid.UUID | None = None,
    limit: int,
    cursor: str | None = None,
) -> tuple[list[AutomationRun], str | None]:
    """A rule's or a member's runs, newest first, and the cursor of the next page."""
    query = select(AutomationRun).where(AutomationRun.tenant_id == tenant_id)
    if rule_id is not None:
        await get_rule(session=session, tenant_id=tenant_id, rule_id=rule_id)
        query = query.where(AutomationRun.rule_id == rule_id)
    if member_id is not None:
        query = query.where(AutomationRun.member_id == member_id)
    if cursor is not None:
        at, run_id = decode_time_cursor(cursor)
        query = query.where(
            (AutomationRun.evaluated_at < at) | ((AutomationRun.evaluated_at == at) & (AutomationRun.id < run_id))
        )
    order = (AutomationRun.evaluated_at.desc(), AutomationRun.id.desc())
    runs = list(await session.scalars(query.order_by(*order).limit(limit + 1)))
    page = runs[:limit]
    return page, (encode_time_cursor(page[-1].evaluated_at, page[-1].id) if len(runs) > limit else None)


async def forget_members(*, session: AsyncSession, erased: Sequence[tuple[str, uuid.UUID]]) -> None:
    """Deletes erased members' runs and pending firings (PIPL)."""
    for tenant_id, member_id in erased:
        theirs = (AutomationRun.tenant_id == tenant_id) & (AutomationRun.member_id == member_id)
        await session.execute(
            delete(AutomationDeferral).where(AutomationDeferral.run_id.in_(select(AutomationRun.id).where(theirs)))
        )
        await session.execute(delete(AutomationRun).where(theirs))
