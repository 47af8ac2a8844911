"""A tenant's webhook endpoints: subscribed, changed, rotated and removed, self-serve for partners.

A credential whose only role is `integration` (a partner's key) sees and manages only the endpoints it
created; operators see all of the tenant's. Anything a caller may not see is, to them, not there (404).
"""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_svc.access import Role
from gateway_svc.webhooks import signing
from gateway_svc.webhooks.deliveries import fail_pending
from gateway_svc.webhooks.exceptions import EndpointNotFound, TooManyEndpoints, UnknownEventType
from gateway_svc.webhooks.fanout import PUBLIC_EVENT_TYPES
from gateway_svc.webhooks.models import WebhookEndpoint
from gateway_svc.webhooks.schemas import EndpointCreate, EndpointRead, EndpointUpdate, FailureNotice
from gateway_svc.webhooks.sealed_secrets import SecretBox
from gateway_svc.webhooks.targets import check_target
from qunyun_shared.identity import Identity

MAX_ENDPOINTS_PER_TENANT = 50
# Roles that look after the whole tenant's integrations, not only the ones they set up.
_TENANT_WIDE = frozenset({Role.OWNER, Role.ADMIN, Role.OPERATOR})


def visible_to(caller: Identity) -> ColumnElement[bool]:
    """The endpoints a caller may see and manage."""
    of_tenant = WebhookEndpoint.tenant_id == uuid.UUID(caller.tenant_id)
    if _TENANT_WIDE & set(caller.roles):
        return of_tenant
    return and_(of_tenant, WebhookEndpoint.created_by == caller.principal)


def check_event_types(event_types: Sequence[str]) -> list[str]:
    """The event types, each once, in order; raises UnknownEventType for one partners cannot subscribe to."""
    unknown = sorted(set(event_types) - PUBLIC_EVENT_TYPES)
    if unknown:
        raise UnknownEventType(
            f"No public event type {', '.join(map(repr, unknown))}; GET /api/v1/webhooks/event-types lists them.",
            field="event_types",
        )
    return list(dict.fromkeys(event_types))


async def create_endpoint(
    *,
    session: AsyncSession,
    caller: Identity,
    endpoint_in: EndpointCreate,
    allow_private: bool,
    box: SecretBox,
    now: datetime,
) -> tuple[WebhookEndpoint, str]:
    """Subscribes a URL that passed the SSRF guard to public event types, with a fresh secret unless given one;
    returns the endpoint and its secret in clear (to be shown once: only its sealed form is stored)."""
    event_types = check_event_types(endpoint_in.event_types)
    if endpoint_in.secret is not None:
        signing.parse_secret(endpoint_in.secret)
    await check_target(url=endpoint_in.url, allow_private=allow_private)
    tenant_id = uuid.UUID(caller.tenant_id)
    count = await session.scalar(
        select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.tenant_id == tenant_id)
    )
    if (count or 0) >= MAX_ENDPOINTS_PER_TENANT:
        raise TooManyEndpoints(f"A tenant has at most {MAX_ENDPOINTS_PER_TENANT} webhook endpoints.")
    endpoint_id, secret = uuid.uuid4(), endpoint_in.secret or signing.generate_secret()
    endpoint = WebhookEndpoint(
        id=endpoint_id,
        tenant_id=tenant_id,
        url=endpoint_in.url,
        description=endpoint_in.description,
        event_types=event_types,
        enabled=True,
        secret=box.seal(secret, endpoint_id=endpoint_id),
        rate_limit_per_second=endpoint_in.rate_limit_per_second,
        created_by=caller.principal,
        created_at=now,
        updated_at=now,
        consecutive_failures=0,
    )
    session.add(endpoint)
    await session.flush()
    return endpoint, secret


async def list_endpoints(*, session: AsyncSession, caller: Identity) -> Sequence[WebhookEndpoint]:
    """The endpoints the caller may see, oldest first."""
    query = select(WebhookEndpoint).where(visible_to(caller)).order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    return (await session.scalars(query)).all()


async def get_endpoint(
    *, session: AsyncSession, caller: Identity, endpoint_id: uuid.UUID, lock: bool = False
) -> WebhookEndpoint:
    """One endpoint the caller may see; raises EndpointNotFound otherwise."""
    query = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id, visible_to(caller))
    endpoint = await session.scalar(query.with_for_update() if lock else query)
    if endpoint is None:
        raise EndpointNotFound(f"No webhook endpoint {endpoint_id}.")
    return endpoint


async def update_endpoint(
    *,
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    endpoint_in: EndpointUpdate,
    caller: Identity,
    allow_private: bool,
    now: datetime,
) -> WebhookEndpoint:
    """Changes what was given; a new URL passes the SSRF guard again, `enabled` turns the endpoint on or off."""
    changes = endpoint_in.model_dump(exclude_unset=True)
    # Everything is checked before anything changes.
    event_types = check_event_types(changes["event_types"]) if changes.get("event_types") is not None else None
    if changes.get("url") is not None:
        await check_target(url=changes["url"], allow_private=allow_private)
        endpoint.url = changes["url"]
    if event_types is not None:
        endpoint.event_types = event_types
    if changes.get("description") is not None:
        endpoint.description = changes["description"]
    if changes.get("rate_limit_per_second") is not None:
        endpoint.rate_limit_per_second = changes["rate_limit_per_second"]
    if changes.get("enabled") is True and not endpoint.enabled:
        _enable(endpoint)
    elif changes.get("enabled") is False and endpoint.enabled:
        await _disable(session, endpoint, reason=f"Disabled by {caller.principal}.", now=now)
    endpoint.updated_at = now
    await session.flush()
    return endpoint


async def delete_endpoint(*, session: AsyncSession, endpoint: WebhookEndpoint) -> None:
    """Removes the endpoint with its delivery log."""
    await session.delete(endpoint)
    await session.flush()


async def rotate_secret(
    *, session: AsyncSession, endpoint: WebhookEndpoint, overlap: timedelta, box: SecretBox, now: datetime
) -> tuple[WebhookEndpoint, str]:
    """Gives the endpoint a new secret, returned in clear; the current one keeps signing beside it for `overlap`."""
    if overlap > timedelta(0):
        endpoint.previous_secret = endpoint.secret
        endpoint.previous_secret_expires_at = now + overlap
    else:
        endpoint.previous_secret = endpoint.previous_secret_expires_at = None
    secret = signing.generate_secret()
    endpoint.secret = box.seal(secret, endpoint_id=endpoint.id)
    endpoint.updated_at = now
    await session.flush()
    return endpoint, secret


def read_endpoint(endpoint: WebhookEndpoint, *, now: datetime) -> EndpointRead:
    """The endpoint as the API shows it, with the failure notice while one stands and never its secrets."""
    expires = endpoint.previous_secret_expires_at
    return EndpointRead(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        event_types=endpoint.event_types,
        enabled=endpoint.enabled,
        disabled_reason=endpoint.disabled_reason,
        disabled_at=endpoint.disabled_at,
        rate_limit_per_second=endpoint.rate_limit_per_second,
        created_by=endpoint.created_by,
        created_at=endpoint.created_at,
        updated_at=endpoint.updated_at,
        previous_secret_expires_at=expires if endpoint.previous_secret and expires and expires > now else None,
        failing_since=endpoint.failing_since,
        consecutive_failures=endpoint.consecutive_failures,
        failure_notice=_notice(endpoint) if endpoint.enabled else None,
    )


def _notice(endpoint: WebhookEndpoint) -> FailureNotice | None:
    if endpoint.failing_since is None or endpoint.failure_notice_at is None or endpoint.disables_at is None:
        return None
    return FailureNotice(
        message=(
            f"Every delivery to this endpoint has failed since {endpoint.failing_since:%Y-%m-%d %H:%M} UTC "
            f"({endpoint.consecutive_failures} attempts). Unless one succeeds, it will be disabled at "
            f"{endpoint.disables_at:%Y-%m-%d %H:%M} UTC."
        ),
        failing_since=endpoint.failing_since,
        consecutive_failures=endpoint.consecutive_failures,
        last_error=endpoint.last_failure,
        noticed_at=endpoint.failure_notice_at,
        disables_at=endpoint.disables_at,
    )


def _enable(endpoint: WebhookEndpoint) -> None:
    """On again, with a clean slate: the old streak and notice no longer say anything about the URL."""
    endpoint.enabled = True
    endpoint.disabled_reason = endpoint.disabled_at = None
    endpoint.failing_since = endpoint.failure_notice_at = endpoint.disables_at = endpoint.last_failure = None
    endpoint.consecutive_failures = 0


async def _disable(session: AsyncSession, endpoint: WebhookEndpoint, *, reason: str, now: datetime) -> None:
    endpoint.enabled = False
    endpoint.disabled_reason, endpoint.disabled_at = reason, now
    await fail_pending(session=session, endpoint_id=endpoint.id, reason="Not sent: the endpoint was disabled.")
