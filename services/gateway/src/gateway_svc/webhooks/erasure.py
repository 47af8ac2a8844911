"""Erasure (PIPL) in the delivery log: the stored bodies of messages about an erased member are scrubbed,
and those not sent yet are not sent at all. The `member.erased` message itself still goes out: partners
must erase the member too."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_svc.db import ERASED_MEMBERS
from gateway_svc.webhooks.models import DeliveryStatus, WebhookDelivery
from qunyun_shared.erasure import remember_erased

ERASURE_EVENT = "member.erased"


async def forget_members(*, session: AsyncSession, erased: Sequence[tuple[str, uuid.UUID]], now: datetime) -> None:
    """Remembers the members as erased and scrubs every stored message about them but their erasure."""
    await remember_erased(session, ERASED_MEMBERS, erased)
    pending = WebhookDelivery.status == DeliveryStatus.PENDING
    for tenant_id, member_id in erased:
        await session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.tenant_id == uuid.UUID(tenant_id),
                WebhookDelivery.member_id == member_id,
                WebhookDelivery.event_type != ERASURE_EVENT,
            )
            .values(
                body=None,
                member_id=None,
                erased_at=now,
                status=case((pending, DeliveryStatus.CANCELLED), else_=WebhookDelivery.status),
                next_attempt_at=None,
                last_error=case(
                    (pending, "Not sent: the member it is about was erased."), else_=WebhookDelivery.last_error
                ),
            )
            .execution_options(synchronize_session=False)
        )
