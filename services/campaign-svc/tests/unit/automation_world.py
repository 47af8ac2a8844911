"""A tenant's automation world at a fixed time: members with or without marketing consent, coupon
templates of running campaigns, rules, the events that trigger them, and what the runs log says."""

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.automation import engine as automation_engine
from campaign_svc.automation import service as automation
from campaign_svc.automation.schemas import RuleCreate
from campaign_svc.campaigns import service as campaigns
from campaign_svc.campaigns.schemas import CampaignCreate
from campaign_svc.coupons import service as coupons
from campaign_svc.coupons.schemas import CouponTemplateCreate
from campaign_svc.db import MESSAGING
from campaign_svc.members import service as members
from campaign_svc.tenants import service as tenants
from campaign_svc.tenants.schemas import TenantSettingsBody
from qunyun_shared.events import Envelope, EventPayload, new_event
from qunyun_shared.events.campaign import OrderPaidV1
from qunyun_shared.events.content import ContentEngagedV1
from qunyun_shared.events.member import MemberBirthdaySetV1, MemberConsentChangedV1, MemberJoinedV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import staged_events

OUTBOX = Outbox(table=MESSAGING.outbox, source="campaign-svc", topic_prefix="qunyun")
TENANT, OTHER = "tenant-a", "tenant-b"
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Outside the default quiet hours (22:00-08:00 Shanghai).
NOON = datetime(2026, 6, 15, 12, tzinfo=SHANGHAI)
NIGHT = datetime(2026, 6, 15, 23, tzinfo=SHANGHAI)


def event(payload: EventPayload, tenant_id: str = TENANT) -> Envelope:
    return new_event(source="member-svc", tenant_id=tenant_id, payload=payload)


def joined(member_id: uuid.UUID) -> MemberJoinedV1:
    return MemberJoinedV1(member_id=member_id, community_id=uuid.uuid4(), channel="qr", joined_at=NOON)


def paid(member_id: uuid.UUID, amount_fen: int = 9900) -> OrderPaidV1:
    return OrderPaidV1(order_id=uuid.uuid4(), member_id=member_id, amount_fen=amount_fen, paid_at=NOON)


def engaged(member_id: uuid.UUID) -> ContentEngagedV1:
    return ContentEngagedV1(content_id=uuid.uuid4(), member_id=member_id, action="like", occurred_at=NOON)


async def join(session: AsyncSession, member_id: uuid.UUID, tenant_id: str = TENANT) -> None:
    """A join as the consumer handles it: the fact recorded, then the rules evaluated on it."""
    payload = joined(member_id)
    await members.record_joins(session=session, joins=[(tenant_id, payload)])
    await automation_engine.evaluate(session=session, outbox=OUTBOX, envelopes=[event(payload, tenant_id)], now=NOON)


async def set_consent(session: AsyncSession, member_id: uuid.UUID, granted: bool, tenant_id: str = TENANT) -> None:
    change = MemberConsentChangedV1(member_id=member_id, purpose="marketing", granted=granted, source="mini-program")
    await members.record_consent(session=session, tenant_id=tenant_id, consent=change, at=NOON)


async def member(session: AsyncSession, *, consent: bool = True, tenant_id: str = TENANT) -> uuid.UUID:
    member_id = uuid.uuid4()
    await members.record_joins(session=session, joins=[(tenant_id, joined(member_id))])
    await set_consent(session, member_id, consent, tenant_id)
    return member_id


async def template(session: AsyncSession, tenant_id: str = TENANT, **terms: Any) -> uuid.UUID:
    campaign_in = CampaignCreate(kind="welcome_pack", name="新人礼", budget_fen=1_000_000)
    campaign = await campaigns.create_campaign(
        session=session, outbox=OUTBOX, tenant_id=tenant_id, campaign_in=campaign_in, now=NOON - timedelta(days=30)
    )
    template_in = CouponTemplateCreate(
        campaign_id=campaign.id, name="满99减5", discount="amount_off", amount_off_fen=500, valid_days=7, **terms
    )
    return (
        await coupons.create_template(
            session=session, tenant_id=tenant_id, template_in=template_in, now=NOON - timedelta(days=30)
        )
    ).id


async def rule(session: AsyncSession, tenant_id: str = TENANT, **fields: Any) -> uuid.UUID:
    fields.setdefault("name", "rule")
    return (await automation.create_rule(session=session, tenant_id=tenant_id, rule_in=RuleCreate(**fields))).id


async def runs(session: AsyncSession, member_id: uuid.UUID) -> list[tuple[str, str | None]]:
    """The member's (outcome, reason) pairs, sorted: runs of one batch share their time, so no order."""
    found, _ = await automation.runs_of(session=session, tenant_id=TENANT, member_id=member_id, limit=100)
    return sorted(((run.outcome, run.reason) for run in found), key=str)


async def staged(session: AsyncSession, event_type: str) -> list[Any]:
    return [payload for type_, payload in await staged_events(session, MESSAGING.outbox) if type_ == event_type]


async def coupons_of(session: AsyncSession, member_id: uuid.UUID) -> int:
    return len(await coupons.coupons_of(session=session, tenant_id=TENANT, member_id=member_id))


async def without_quiet_hours(session: AsyncSession, timezone: str) -> None:
    settings = TenantSettingsBody(timezone=timezone, quiet_hours_start=None, quiet_hours_end=None)
    await tenants.update_settings(session=session, tenant_id=TENANT, body=settings)


async def born(session: AsyncSession, birthday: str, *, consent: bool = True) -> uuid.UUID:
    member_id = await member(session, consent=consent)
    await members.record_birthday(
        session=session, tenant_id=TENANT, birthday=MemberBirthdaySetV1(member_id=member_id, birthday=birthday)
    )
    return member_id
