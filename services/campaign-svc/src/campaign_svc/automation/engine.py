"""The automation engine: each event (or birthday) evaluated on its tenant's enabled rules, every
evaluation logged once with its outcome and reason. Marketing needs consent and waits out quiet hours;
frequency caps bound each member; a failed action fails its own firing only."""

import calendar
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta

from pydantic import BaseModel
from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.automation.conditions import EVENT_FACTS, Check, MemberBirthday, compile_condition, first_unmet
from campaign_svc.automation.models import AutomationDeferral, AutomationRule, AutomationRun
from campaign_svc.automation.schemas import (
    ACTIONS,
    MARKETING_ACTIONS,
    AddPoints,
    AddTag,
    IssueCoupon,
    NotifyMerchant,
)
from campaign_svc.db import ERASED_MEMBERS
from campaign_svc.members.models import Member
from campaign_svc.rewards import service as rewards
from campaign_svc.rewards.schemas import Reward
from campaign_svc.tenants.clock import Clock
from campaign_svc.tenants.service import clock_of
from qunyun_shared.db import upsert
from qunyun_shared.erasure import erased_among
from qunyun_shared.events import Envelope
from qunyun_shared.events.analytics import MemberChurnRiskV1
from qunyun_shared.events.campaign import MerchantNotifiedV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.problems import DomainError

BATCH = 200


@dataclass(frozen=True)
class _Occurrence:
    """A trigger for one member: an event from the bus, or a birthday the sweep found."""

    tenant_id: str
    event_id: str
    trigger: str
    member_id: uuid.UUID
    facts: BaseModel
    at: datetime


@dataclass(frozen=True)
class _Rule:
    """A rule as the engine runs it: conditions parsed once per batch, actions grouped into grants."""

    row: AutomationRule
    checks: list[Check]
    rewards: list[Reward]
    notice: str | None
    marketing: bool

    @classmethod
    def of(cls, row: AutomationRule) -> "_Rule":
        actions = ACTIONS.validate_python(row.actions)
        templates = [a.coupon_template_id for a in actions if isinstance(a, IssueCoupon)]
        points = sum(a.points for a in actions if isinstance(a, AddPoints))
        tag = next((a.tag for a in actions if isinstance(a, AddTag)), None)
        # Points and the tag ride on one grant: grants of one source share a reward id, applied once.
        grants = [Reward(coupon_template_id=template) for template in templates[1:]]
        if templates or points or tag:
            grants.insert(0, Reward(coupon_template_id=templates[0] if templates else None, points=points, tag=tag))
        return cls(
            row=row,
            checks=[compile_condition(row.trigger, **condition) for condition in row.conditions],
            rewards=grants,
            notice=next((a.message for a in actions if isinstance(a, NotifyMerchant)), None),
            marketing=any(a.type in MARKETING_ACTIONS for a in actions),
        )


@dataclass
class _Batch:
    """The engine's work on one batch: its transaction, its time, the tenants' clocks it has read."""

    session: AsyncSession
    outbox: Outbox
    now: datetime
    clocks: dict[str, Clock] = field(default_factory=dict)

    async def clock(self, tenant_id: str) -> Clock:
        if tenant_id not in self.clocks:
            self.clocks[tenant_id] = await clock_of(session=self.session, tenant_id=tenant_id)
        return self.clocks[tenant_id]


async def evaluate(
    *, session: AsyncSession, outbox: Outbox, envelopes: Sequence[Envelope], now: datetime | None = None
) -> None:
    """Evaluates each event on its tenant's enabled rules for its type; call it after the event's facts
    are recorded on the member. Erased members are never evaluated, nor imported history: what happened
    before it reached Qunyun sets off no welcome pack, coupon or notice. Nor is a churn flag analytics
    cleared: `member.churn_risk` triggers on a flag raised."""
    # Every trigger's event is about a member: its subject is the member's id.
    occurrences = [
        _Occurrence(e.tenantid, e.id, e.type, uuid.UUID(e.data.subject()), e.data, e.time)
        for e in envelopes
        if e.type in EVENT_FACTS
        and not e.imported
        and not (isinstance(e.data, MemberChurnRiskV1) and not e.data.flagged)
    ]
    erased = await erased_among(session, ERASED_MEMBERS, (o.member_id for o in occurrences))
    occurrences = [o for o in occurrences if o.member_id not in erased]
    if not occurrences:
        return
    found = await session.scalars(
        select(AutomationRule)
        .where(
            AutomationRule.tenant_id.in_({o.tenant_id for o in occurrences}),
            AutomationRule.trigger.in_({o.trigger for o in occurrences}),
            AutomationRule.enabled.is_(True),
        )
        .order_by(AutomationRule.created_at, AutomationRule.id)
    )
    rules: dict[tuple[str, str], list[_Rule]] = {}
    for row in found:
        rules.setdefault((row.tenant_id, row.trigger), []).append(_Rule.of(row))
    members = await _members(session, (o.member_id for o in occurrences))
    batch = _Batch(session, outbox, now or datetime.now(UTC))
    for occurrence in occurrences:
        member = members.get(occurrence.member_id)
        member = member if member is not None and member.tenant_id == occurrence.tenant_id else None
        for rule in rules.get((occurrence.tenant_id, occurrence.trigger), []):
            await _evaluate(batch, rule, occurrence, member)


async def _members(session: AsyncSession, member_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Member]:
    # Fresh from the database: facts recorded earlier in this transaction by a Core upsert (a join) do not
    # reach member objects the session already holds.
    found = await session.scalars(
        select(Member).where(Member.member_id.in_(set(member_ids))).execution_options(populate_existing=True)
    )
    return {member.member_id: member for member in found}


async def _evaluate(batch: _Batch, rule: _Rule, occurrence: _Occurrence, member: Member | None) -> None:
    """Decides, logs once per (rule, event), then defers or fires."""
    outcome, reason, until = await _verdict(batch, rule, occurrence, member)
    latency_ms = max(0, int((batch.now - occurrence.at).total_seconds() * 1000))
    row = {
        "id": uuid.uuid4(),
        "rule_id": rule.row.id,
        "tenant_id": occurrence.tenant_id,
        "member_id": occurrence.member_id,
        "event_id": occurrence.event_id,
        "trigger": occurrence.trigger,
        "outcome": outcome,
        "reason": reason,
        "evaluated_at": batch.now,
        "latency_ms": latency_ms,
        "deferred_until": until,
    }
    table = AutomationRun.__table__
    # The log row is the claim: of two evaluations of one event, only the one that inserts it acts.
    claimed = await batch.session.execute(
        upsert(batch.session, table).values(row).on_conflict_do_nothing().returning(table.c.id)
    )
    if claimed.first() is None:
        return
    if until is not None:
        batch.session.add(AutomationDeferral(run_id=row["id"], tenant_id=occurrence.tenant_id, due_at=until))
        await batch.session.flush()
    elif outcome == "fired":
        failure = await _fire(batch, rule, occurrence.member_id, occurrence.event_id, occurrence.trigger)
        if failure is not None:
            await batch.session.execute(
                update(AutomationRun).where(AutomationRun.id == row["id"]).values(outcome="failed", reason=failure)
            )


async def _verdict(
    batch: _Batch, rule: _Rule, occurrence: _Occurrence, member: Member | None
) -> tuple[str, str | None, datetime | None]:
    """The outcome, its reason, and when a deferred firing is due."""
    unmet = first_unmet(rule.checks, occurrence.facts, member)
    if unmet is not None:
        return "skipped", unmet, None
    if rule.marketing and (member is None or not member.marketing_consent):
        return "skipped", "no marketing consent", None
    cap = rule.row.frequency_cap
    if (
        cap is not None
        and await _fires_within(batch, rule.row.id, occurrence.member_id, cap["per_days"]) >= cap["max_fires"]
    ):
        return "skipped", f"frequency cap {cap['max_fires']} per {cap['per_days']} days reached", None
    until = (await batch.clock(occurrence.tenant_id)).quiet_until(batch.now) if rule.marketing else None
    if until is not None:
        return "deferred", f"quiet hours until {until:%H:%M}", until.astimezone(UTC)
    return "fired", None, None


async def _fires_within(batch: _Batch, rule_id: uuid.UUID, member_id: uuid.UUID, days: int) -> int:
    """Firings of the rule for the member in the last `days`, deferred ones included: a member's events for
    one rule share a trigger, hence a partition, so they are evaluated one after another, never at once."""
    count = await batch.session.scalar(
        select(func.count())
        .select_from(AutomationRun)
        .where(
            AutomationRun.rule_id == rule_id,
            AutomationRun.member_id == member_id,
            AutomationRun.outcome.in_(("fired", "deferred")),
            AutomationRun.evaluated_at > batch.now - timedelta(days=days),
        )
    )
    return count or 0


async def _fire(batch: _Batch, rule: _Rule, member_id: uuid.UUID, event_id: str, trigger: str) -> str | None:
    """Runs the actions in a savepoint: all or none of them happen. Returns why they failed, if they did."""
    source = f"automation:{rule.row.id}:{event_id}"
    try:
        async with batch.session.begin_nested():
            for reward in rule.rewards:
                await rewards.grant(
                    session=batch.session,
                    outbox=batch.outbox,
                    tenant_id=rule.row.tenant_id,
                    member_id=member_id,
                    reward=reward,
                    campaign_id=rule.row.campaign_id,
                    source=source,
                    reason=f"automation: {rule.row.name}",
                    now=batch.now,
                )
            if rule.notice is not None:
                notified = MerchantNotifiedV1(
                    rule_id=rule.row.id, member_id=member_id, trigger=trigger, message=rule.notice
                )
                await batch.outbox.add(batch.session, tenant_id=rule.row.tenant_id, payloads=[notified])
    except DomainError as exc:
        return f"{exc.slug.replace('-', ' ')}: {exc.detail}"[:300]
    return None


async def run_deferred(*, session: AsyncSession, outbox: Outbox, now: datetime) -> int:
    """Executes deferred firings whose quiet hours are over, if the member still consents and the rule is
    still enabled. Rows another replica is executing are skipped, not waited for, so each runs once."""
    due = (
        await session.execute(
            select(AutomationRun, AutomationRule)
            .join(AutomationDeferral, AutomationDeferral.run_id == AutomationRun.id)
            .join(AutomationRule, AutomationRule.id == AutomationRun.rule_id)
            .where(AutomationDeferral.due_at <= now)
            .order_by(AutomationDeferral.due_at)
            .limit(BATCH)
            .with_for_update(of=AutomationDeferral, skip_locked=True)
        )
    ).all()
    if not due:
        return 0
    await session.execute(delete(AutomationDeferral).where(AutomationDeferral.run_id.in_([run.id for run, _ in due])))
    erased = await erased_among(session, ERASED_MEMBERS, (run.member_id for run, _ in due))
    members = await _members(session, (run.member_id for run, _ in due))
    batch = _Batch(session, outbox, now)
    for run, rule in due:
        member = members.get(run.member_id)
        if run.member_id in erased:
            await session.delete(run)
        elif not rule.enabled:
            _settle(run, "skipped", "rule disabled", now)
        elif member is None or member.tenant_id != run.tenant_id or not member.marketing_consent:
            _settle(run, "skipped", "no marketing consent", now)
        else:
            failure = await _fire(batch, _Rule.of(rule), run.member_id, run.event_id, run.trigger)
            _settle(run, "fired" if failure is None else "failed", failure, now)
    await session.flush()
    return len(due)


def _settle(run: AutomationRun, outcome: str, reason: str | None, now: datetime) -> None:
    run.outcome, run.reason, run.executed_at = outcome, reason, now


async def fire_birthdays(*, session: AsyncSession, outbox: Outbox, now: datetime) -> int:
    """Evaluates each enabled birthday rule for the members whose birthday it is today in the tenant's
    zone (Feb 29 birthdays on Feb 28 in other years), once per member, rule and year. Returns how many."""
    rows = await session.scalars(
        select(AutomationRule)
        .where(AutomationRule.trigger == "member.birthday", AutomationRule.enabled.is_(True))
        .order_by(AutomationRule.tenant_id, AutomationRule.created_at, AutomationRule.id)
    )
    batch = _Batch(session, outbox, now)
    evaluated = 0
    for row in list(rows):
        clock = await batch.clock(row.tenant_id)
        day = clock.local_day(now)
        midnight = datetime.combine(day, time(), tzinfo=clock.zone)
        rule = _Rule.of(row)
        for member in await _birthday_members(session, row, day.strftime("%m-%d"), midnight):
            assert member.birthday is not None
            facts = MemberBirthday(member_id=member.member_id, birthday=member.birthday)
            event_id = f"member.birthday:{day.year}:{member.member_id}"
            # The synthetic event happens at the local midnight starting the birthday.
            occurrence = _Occurrence(row.tenant_id, event_id, "member.birthday", member.member_id, facts, midnight)
            await _evaluate(batch, rule, occurrence, member)
            evaluated += 1
    return evaluated


async def _birthday_members(
    session: AsyncSession, rule: AutomationRule, month_day: str, midnight: datetime
) -> list[Member]:
    """Members of the rule's tenant born on `month_day` whom the rule has not evaluated this (local) year."""
    days = [month_day]
    if month_day == "02-28" and not calendar.isleap(midnight.year):
        days.append("02-29")
    this_year = midnight.replace(month=1, day=1)
    evaluated = select(AutomationRun.id).where(
        AutomationRun.rule_id == rule.id,
        AutomationRun.member_id == Member.member_id,
        AutomationRun.evaluated_at >= this_year,
    )
    erased = select(ERASED_MEMBERS.c.member_id).where(ERASED_MEMBERS.c.member_id == Member.member_id)
    found = await session.scalars(
        select(Member)
        .where(Member.tenant_id == rule.tenant_id, Member.birthday.in_(days), ~exists(evaluated), ~exists(erased))
        .order_by(Member.member_id)
        .limit(BATCH)
    )
    return list(found)
