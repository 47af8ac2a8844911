"""What the webhook unit tests share: a tenant on an embedded database, endpoints, events and identities."""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_svc import access
from gateway_svc.config import Settings
from gateway_svc.db import MESSAGING
from gateway_svc.tenants.models import Tenant
from gateway_svc.webhooks import signing
from gateway_svc.webhooks.models import WebhookDelivery, WebhookEndpoint
from gateway_svc.webhooks.sealed_secrets import SecretBox
from qunyun_shared.events import Envelope, EventPayload, new_event
from qunyun_shared.events.member import MemberTaggedV1
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
WEBHOOK_SECRET_KEY = "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="  # base64 of 32 bytes
BOX = SecretBox(WEBHOOK_SECRET_KEY)


def settings(**overrides: Any) -> Settings:
    base: dict[str, Any] = {
        "database_url": "sqlite+aiosqlite://",
        "internal_token_secret": "internal-token-secret-" * 3,
        "platform_admin_token": "platform-admin-token-" * 3,
        "access_token_secret": "access-token-secret-" * 3,
        "webhook_secret_key": WEBHOOK_SECRET_KEY,
    }
    return Settings(**(base | overrides))


def outbox() -> Outbox:
    return Outbox(table=MESSAGING.outbox, source="gateway", topic_prefix="qunyun")


def caller(tenant_id: uuid.UUID, *roles: str, principal: str | None = None) -> Identity:
    return Identity(
        tenant_id=str(tenant_id),
        principal=principal or f"api_key:{uuid.uuid4().hex[:16]}",
        roles=roles,
        permissions=access.permissions_of(roles),
    )


async def new_tenant(session: AsyncSession) -> uuid.UUID:
    tenant = Tenant(name=f"tenant-{uuid.uuid4().hex[:8]}")
    session.add(tenant)
    await session.flush()
    return tenant.id


async def new_endpoint(
    session: AsyncSession,
    tenant_id: uuid.UUID,
    *,
    event_types: list[str] | None = None,
    enabled: bool = True,
    rate: int = 50,
    url: str = "https://203.0.113.10/hooks",
    created_by: str = "api_key:owner",
) -> WebhookEndpoint:
    """An endpoint stored as the API would store it (the API's own checks are tested separately)."""
    endpoint_id = uuid.uuid4()
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        tenant_id=tenant_id,
        url=url,
        description="",
        event_types=event_types or ["member.tagged"],
        enabled=enabled,
        secret=BOX.seal(signing.generate_secret(), endpoint_id=endpoint_id),
        rate_limit_per_second=rate,
        created_by=created_by,
        created_at=NOW,
        updated_at=NOW,
        consecutive_failures=0,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint


def tagged(member_id: uuid.UUID | None = None, tag: str = "孕晚期") -> MemberTaggedV1:
    return MemberTaggedV1(member_id=member_id or uuid.uuid4(), tag=tag, kind="manual", action="added")


def event(tenant_id: uuid.UUID | str, payload: EventPayload, source: str = "member-svc") -> Envelope:
    return new_event(source=source, tenant_id=str(tenant_id), payload=payload)


async def deliveries_of(session: AsyncSession, endpoint: WebhookEndpoint) -> list[WebhookDelivery]:
    """The endpoint's deliveries as stored now (bulk updates bypass the session's copies)."""
    query = (
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.created_at, WebhookDelivery.event_id)
        .execution_options(populate_existing=True)
    )
    return list(await session.scalars(query))
