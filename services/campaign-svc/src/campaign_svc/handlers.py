"""Events campaign-svc consumes, each type to one handler: first what the event tells about the member,
then what it sets off (automation rules, referral rewards, experiment conversions).

Events announcing imported history (`envelope.imported`) are facts and no news: the member projection
and experiment conversions (which count only orders after an exposure) take them, while nothing reacts to
them — the automation engine skips them itself, and referral rewards are given for live joins and payments
only."""

import uuid
from collections import Counter
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc import erasure
from campaign_svc.automation import engine as automation_engine
from campaign_svc.experiments import service as experiments
from campaign_svc.members import service as members
from campaign_svc.referrals import service as referrals
from qunyun_shared.events import Envelope, payloads_of
from qunyun_shared.events.analytics import MemberChurnRiskV1
from qunyun_shared.events.campaign import OrderPaidV1, OrderPlacedV1
from qunyun_shared.events.content import ContentEngagedV1
from qunyun_shared.events.member import (
    MemberBirthdaySetV1,
    MemberConsentChangedV1,
    MemberErasedV1,
    MemberJoinedV1,
    MemberLevelChangedV1,
)
from qunyun_shared.inbox import Handler
from qunyun_shared.outbox import Outbox


async def on_member_joined(session: AsyncSession, outbox: Outbox, events: Sequence[Envelope]) -> None:
    joins = payloads_of(events, MemberJoinedV1)
    for wave in _waves(list(zip(events, joins, strict=True))):
        await members.record_joins(session=session, joins=[join for _, join in wave])
        await automation_engine.evaluate(session=session, outbox=outbox, envelopes=[envelope for envelope, _ in wave])
    await referrals.on_joins(session=session, outbox=outbox, joins=payloads_of(_live(events), MemberJoinedV1))


def _live(events: Sequence[Envelope]) -> list[Envelope]:
    """The events that are news: not imported history."""
    return [envelope for envelope in events if not envelope.imported]


_Join = tuple[Envelope, tuple[str, MemberJoinedV1]]


def _waves(joins: list[_Join]) -> list[list[_Join]]:
    """The joins in waves holding each member at most once, in order: a rule on a member's first join
    must see the member as they were at that join, not after their next one in the same batch."""
    waves: list[list[_Join]] = []
    seen: Counter[uuid.UUID] = Counter()
    for envelope, (tenant_id, join) in joins:
        wave = seen[join.member_id]
        seen[join.member_id] += 1
        if wave == len(waves):
            waves.append([])
        waves[wave].append((envelope, (tenant_id, join)))
    return waves


async def on_consent_changed(session: AsyncSession, outbox: Outbox, events: Sequence[Envelope]) -> None:
    consents = payloads_of(events, MemberConsentChangedV1)
    for envelope, (tenant_id, consent) in zip(events, consents, strict=True):
        await members.record_consent(session=session, tenant_id=tenant_id, consent=consent, at=envelope.time)
    await automation_engine.evaluate(session=session, outbox=outbox, envelopes=events)


async def on_level_changed(session: AsyncSession, outbox: Outbox, events: Sequence[Envelope]) -> None:
    for tenant_id, change in payloads_of(events, MemberLevelChangedV1):
        await members.record_level(session=session, tenant_id=tenant_id, change=change)
    await automation_engine.evaluate(session=session, outbox=outbox, envelopes=events)


async def on_birthday_set(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    for tenant_id, birthday in payloads_of(events, MemberBirthdaySetV1):
        await members.record_birthday(session=session, tenant_id=tenant_id, birthday=birthday)


async def on_churn_risk(session: AsyncSession, outbox: Outbox, events: Sequence[Envelope]) -> None:
    for tenant_id, risk in payloads_of(events, MemberChurnRiskV1):
        await members.record_churn_risk(session=session, tenant_id=tenant_id, risk=risk)
    await automation_engine.evaluate(session=session, outbox=outbox, envelopes=events)


async def on_content_engaged(session: AsyncSession, outbox: Outbox, events: Sequence[Envelope]) -> None:
    await members.record_engagements(session=session, engaged=payloads_of(events, ContentEngagedV1))
    await automation_engine.evaluate(session=session, outbox=outbox, envelopes=events)


async def on_orders(session: AsyncSession, outbox: Outbox, events: Sequence[Envelope]) -> None:
    """Orders placed and paid, in one run: an order's two events come one after the other, and handled by
    type each would make a run of its own (a statement or two per order of an imported history)."""
    placed = [(e.tenantid, e.data) for e in events if isinstance(e.data, OrderPlacedV1)]
    paid = [(e.tenantid, e.data) for e in _live(events) if isinstance(e.data, OrderPaidV1)]
    await experiments.record_orders(session=session, orders=placed)
    await referrals.on_paid_orders(session=session, outbox=outbox, paid=paid)
    await automation_engine.evaluate(session=session, outbox=outbox, envelopes=events)


async def on_rule_trigger(session: AsyncSession, outbox: Outbox, events: Sequence[Envelope]) -> None:
    """Events that tell nothing about the member, only set off automation rules (a check-in, a redemption)."""
    await automation_engine.evaluate(session=session, outbox=outbox, envelopes=events)


async def on_member_erased(session: AsyncSession, _outbox: Outbox, events: Sequence[Envelope]) -> None:
    erased = [(tenant_id, erasure.member_id) for tenant_id, erasure in payloads_of(events, MemberErasedV1)]
    await erasure.forget_members(session=session, erased=erased)


HANDLERS: dict[str, Handler] = {
    "member.joined": on_member_joined,
    "member.consent_changed": on_consent_changed,
    "member.level_changed": on_level_changed,
    "member.birthday_set": on_birthday_set,
    "member.churn_risk": on_churn_risk,
    "content.engaged": on_content_engaged,
    **dict.fromkeys(("order.placed", "order.paid"), on_orders),
    "checkin.recorded": on_rule_trigger,
    "coupon.redeemed": on_rule_trigger,
    "member.erased": on_member_erased,
}
