"""A tenant's campaign world on an embedded database: members campaigns know, campaigns, coupon templates,
built through the same handlers and use cases the service runs."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.campaigns import service as campaigns
from campaign_svc.campaigns.models import Campaign
from campaign_svc.campaigns.schemas import CampaignCreate
from campaign_svc.coupons import service as coupons
from campaign_svc.coupons.models import CouponTemplate
from campaign_svc.coupons.schemas import CouponTemplateCreate
from campaign_svc.db import MESSAGING
from campaign_svc.handlers import HANDLERS
from campaign_svc.models import Base
from qunyun_shared.events import Envelope, EventPayload, new_event
from qunyun_shared.events.kafka_binding import from_kafka
from qunyun_shared.events.member import MemberConsentChangedV1, MemberJoinedV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_database, staged_events

TENANT = "tenant-a"
# The moment the tests live at: campaigns start at it and everything else happens at it.
NOW = datetime.now(UTC)
OUTBOX = Outbox(table=MESSAGING.outbox, source="campaign-svc", topic_prefix="qunyun")


class World:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.outbox = OUTBOX

    async def deliver(
        self, source: str, *payloads: EventPayload, tenant_id: str = TENANT, imported: bool = False
    ) -> None:
        """Hands events to campaign-svc's handlers as its consumer would (announcing history if `imported`)."""
        for payload in payloads:
            envelope = new_event(source=source, tenant_id=tenant_id, payload=payload, imported=imported)
            await HANDLERS[envelope.type](self.session, OUTBOX, [envelope])

    async def member(
        self, *, inviter_id: uuid.UUID | None = None, consent: bool = True, tenant_id: str = TENANT
    ) -> uuid.UUID:
        member_id = uuid.uuid4()
        joined = MemberJoinedV1(
            member_id=member_id,
            community_id=uuid.uuid4(),
            channel="invite" if inviter_id else "qr",
            inviter_id=inviter_id,
            joined_at=datetime.now(UTC),
        )
        await self.deliver("member-svc", joined, tenant_id=tenant_id)
        if consent:
            granted = MemberConsentChangedV1(member_id=member_id, purpose="marketing", granted=True, source="test")
            await self.deliver("member-svc", granted, tenant_id=tenant_id)
        return member_id

    async def campaign(self, kind: str = "coupon", *, tenant_id: str = TENANT, **fields: Any) -> Campaign:
        created = CampaignCreate(kind=kind, name=fields.pop("name", f"{kind} campaign"), **fields)  # type: ignore[arg-type]
        return await campaigns.create_campaign(
            session=self.session, outbox=OUTBOX, tenant_id=tenant_id, campaign_in=created, now=NOW
        )

    async def template(self, campaign: Campaign, **terms: Any) -> CouponTemplate:
        terms.setdefault("name", "满99减20")
        terms.setdefault("discount", "amount_off")
        if terms["discount"] == "amount_off":
            terms.setdefault("amount_off_fen", 2000)
        terms.setdefault("valid_days", 7)
        template_in = CouponTemplateCreate(campaign_id=campaign.id, **terms)
        return await coupons.create_template(
            session=self.session, tenant_id=campaign.tenant_id, template_in=template_in, now=NOW
        )

    async def events(self, event_type: str | None = None) -> list[Any]:
        staged = await staged_events(self.session, MESSAGING.outbox)
        return [payload for kind, payload in staged if event_type is None or kind == event_type]

    async def envelopes(self, event_type: str | None = None) -> list[Envelope]:
        """The events staged in the outbox as the bus carries them (with `imported`), in order."""
        table = MESSAGING.outbox
        rows = (await self.session.execute(select(table).order_by(table.c.id))).all()
        staged = [from_kafka(row.value, [(name, value.encode()) for name, value in row.headers]) for row in rows]
        return [envelope for envelope in staged if event_type is None or envelope.type == event_type]


@pytest_asyncio.fixture
async def world() -> AsyncIterator[World]:
    async with in_memory_database(Base.metadata) as engine, AsyncSession(engine, expire_on_commit=False) as session:
        yield World(session)
