"""Fan-out: every public event on the bus becomes one delivery per enabled endpoint of its tenant that
subscribed to its type, written in the consumer's transaction, so that an accepted event is never lost.
Imported history never reaches it (gateway_svc.handlers)."""

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_svc.db import ERASED_MEMBERS
from gateway_svc.webhooks import erasure
from gateway_svc.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from qunyun_shared.db import upsert
from qunyun_shared.erasure import erased_among
from qunyun_shared.events import CATALOGUE, Envelope
from qunyun_shared.events.member import MemberErasedV1

PUBLIC_EVENT_TYPES = frozenset(spec.type for spec in CATALOGUE.values() if spec.public)
# The fields naming the member an event is about, whose erasure must reach its stored deliveries.
_MEMBER_FIELDS = ("member_id", "author_member_id")


def body_of(envelope: Envelope) -> bytes:
    """A delivery's body, in the shape Standard Webhooks recommends, with the event's id and version."""
    return orjson.dumps(
        {
            "id": envelope.id,
            "type": envelope.type,
            "version": envelope.dataversion,
            "timestamp": envelope.time.isoformat(),
            "data": envelope.data.model_dump(mode="json"),
        }
    )


def member_of(envelope: Envelope) -> uuid.UUID | None:
    """The member an event is about, if any."""
    for field in _MEMBER_FIELDS:
        value = getattr(envelope.data, field, None)
        if isinstance(value, uuid.UUID):
            return value
    return None


def matching(envelope: Envelope, endpoints: Iterable[WebhookEndpoint]) -> list[WebhookEndpoint]:
    """The endpoints an event goes to: its tenant's enabled ones subscribed to its type, if it is public."""
    if envelope.type not in PUBLIC_EVENT_TYPES:  # made internal after endpoints subscribed to it
        return []
    return [
        endpoint
        for endpoint in endpoints
        if endpoint.enabled and str(endpoint.tenant_id) == envelope.tenantid and envelope.type in endpoint.event_types
    ]


async def fan_out(*, session: AsyncSession, events: Sequence[Envelope], now: datetime) -> int:
    """Stages a delivery of each event to each endpoint it goes to, then applies erasures; returns the count."""
    endpoints = await _enabled_endpoints(session, {e.tenantid for e in events})
    erased = await erased_among(session, ERASED_MEMBERS, filter(None, map(member_of, events))) if endpoints else set()
    rows = []
    for envelope in events:
        member_id = member_of(envelope)
        if isinstance(envelope.data, MemberErasedV1):
            erased.add(envelope.data.member_id)
        elif member_id in erased:
            continue  # a late event about an erased member takes their data nowhere
        rows += [_delivery(envelope, endpoint, member_id, now) for endpoint in matching(envelope, endpoints)]
    if rows:
        await session.execute(upsert(session, WebhookDelivery.__table__).on_conflict_do_nothing(), rows)
    erasures = [
        (e.tenantid, e.data.member_id)
        for e in events
        if isinstance(e.data, MemberErasedV1) and _uuid_or_none(e.tenantid) is not None
    ]
    if erasures:
        await erasure.forget_members(session=session, erased=erasures, now=now)
    return len(rows)


async def _enabled_endpoints(session: AsyncSession, tenant_ids: set[str]) -> list[WebhookEndpoint]:
    tenants = [tenant for tenant in map(_uuid_or_none, tenant_ids) if tenant is not None]
    if not tenants:
        return []
    query = select(WebhookEndpoint).where(WebhookEndpoint.tenant_id.in_(tenants), WebhookEndpoint.enabled)
    return list(await session.scalars(query))


def _delivery(
    envelope: Envelope, endpoint: WebhookEndpoint, member_id: uuid.UUID | None, now: datetime
) -> dict[str, object]:
    return {
        "id": uuid.uuid4(),
        "tenant_id": endpoint.tenant_id,
        "endpoint_id": endpoint.id,
        "event_id": envelope.id,
        "event_type": envelope.type,
        "member_id": member_id,
        "body": body_of(envelope).decode(),
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def _uuid_or_none(value: str) -> uuid.UUID | None:
    # Tenants are the gateway's own UUIDs; an event naming anything else has no endpoint to go to.
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
