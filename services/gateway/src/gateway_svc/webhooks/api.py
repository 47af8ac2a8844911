"""Partner webhooks, self-serve: endpoints, secret rotation, the delivery log and replays (`webhooks:manage`)."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from gateway_svc import access
from gateway_svc.config import Settings
from gateway_svc.dependencies import Caller, Runtime, TenantRoute
from gateway_svc.webhooks import deliveries
from gateway_svc.webhooks import service as endpoints
from gateway_svc.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from gateway_svc.webhooks.schemas import (
    AttemptRead,
    DeliveryDetail,
    DeliveryPage,
    DeliveryRead,
    EndpointCreate,
    EndpointCreated,
    EndpointRead,
    EndpointUpdate,
    EventTypeRead,
    ReplayRange,
    ReplayStarted,
    SecretRotated,
    SecretRotation,
)
from gateway_svc.webhooks.sealed_secrets import SecretBox
from qunyun_shared.dependencies import DbSession
from qunyun_shared.events import CATALOGUE
from qunyun_shared.pagination import encode_time_cursor


async def may_manage_webhooks(caller: Caller) -> None:
    access.require(caller, "webhooks:manage")


async def webhook_settings(runtime: Runtime) -> Settings:
    return runtime.settings


async def current_endpoint(endpoint_id: uuid.UUID, caller: Caller, session: DbSession) -> WebhookEndpoint:
    return await endpoints.get_endpoint(session=session, caller=caller, endpoint_id=endpoint_id)


async def locked_endpoint(endpoint_id: uuid.UUID, caller: Caller, session: DbSession) -> WebhookEndpoint:
    """The endpoint, locked for a change by this request."""
    return await endpoints.get_endpoint(session=session, caller=caller, endpoint_id=endpoint_id, lock=True)


WebhookSettings = Annotated[Settings, Depends(webhook_settings)]
CurrentEndpoint = Annotated[WebhookEndpoint, Depends(current_endpoint)]
LockedEndpoint = Annotated[WebhookEndpoint, Depends(locked_endpoint)]


async def secret_box(settings: WebhookSettings) -> SecretBox:
    """Seals the secrets of endpoints created or rotated by this request (cheap: a key derivation)."""
    return SecretBox(settings.webhook_secret_key.get_secret_value())


WebhookSecretBox = Annotated[SecretBox, Depends(secret_box)]

router = APIRouter(
    prefix="/api/v1/webhooks", tags=["webhooks"], dependencies=[Depends(may_manage_webhooks)], route_class=TenantRoute
)


@router.get("/event-types", summary="The event types an endpoint can subscribe to")
async def list_event_types() -> list[EventTypeRead]:
    specs = sorted((spec for spec in CATALOGUE.values() if spec.public), key=lambda spec: (spec.type, spec.version))
    return [EventTypeRead(type=s.type, version=s.version, producer=s.producer, summary=s.summary) for s in specs]


@router.post("/endpoints", status_code=status.HTTP_201_CREATED, summary="Subscribe a URL (its secret is shown once)")
async def create_endpoint(
    body: EndpointCreate, caller: Caller, session: DbSession, settings: WebhookSettings, box: WebhookSecretBox
) -> EndpointCreated:
    now = datetime.now(UTC)
    endpoint, secret = await endpoints.create_endpoint(
        session=session,
        caller=caller,
        endpoint_in=body,
        allow_private=settings.webhook_allow_private_targets,
        box=box,
        now=now,
    )
    return EndpointCreated(**endpoints.read_endpoint(endpoint, now=now).model_dump(), secret=secret)


@router.get("/endpoints", summary="The endpoints this credential may manage")
async def list_endpoints(caller: Caller, session: DbSession) -> list[EndpointRead]:
    now = datetime.now(UTC)
    return [endpoints.read_endpoint(e, now=now) for e in await endpoints.list_endpoints(session=session, caller=caller)]


@router.get("/endpoints/{endpoint_id}", summary="One endpoint, with the notice while it is failing")
async def get_endpoint(endpoint: CurrentEndpoint) -> EndpointRead:
    return endpoints.read_endpoint(endpoint, now=datetime.now(UTC))


@router.patch("/endpoints/{endpoint_id}", summary="Change an endpoint; `enabled: true` re-enables it")
async def update_endpoint(
    body: EndpointUpdate, endpoint: LockedEndpoint, caller: Caller, session: DbSession, settings: WebhookSettings
) -> EndpointRead:
    now = datetime.now(UTC)
    updated = await endpoints.update_endpoint(
        session=session,
        endpoint=endpoint,
        endpoint_in=body,
        caller=caller,
        allow_private=settings.webhook_allow_private_targets,
        now=now,
    )
    return endpoints.read_endpoint(updated, now=now)


@router.delete("/endpoints/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT, summary="Remove an endpoint")
async def delete_endpoint(endpoint: LockedEndpoint, session: DbSession) -> Response:
    await endpoints.delete_endpoint(session=session, endpoint=endpoint)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/endpoints/{endpoint_id}/secret/rotate", summary="A new secret; the old one signs too for the overlap")
async def rotate_secret(
    body: SecretRotation, endpoint: LockedEndpoint, session: DbSession, box: WebhookSecretBox
) -> SecretRotated:
    now = datetime.now(UTC)
    rotated, secret = await endpoints.rotate_secret(
        session=session, endpoint=endpoint, overlap=timedelta(seconds=body.overlap_seconds), box=box, now=now
    )
    return SecretRotated(secret=secret, previous_secret_expires_at=rotated.previous_secret_expires_at)


@router.get("/endpoints/{endpoint_id}/deliveries", summary="The endpoint's delivery log, newest first")
async def list_deliveries(
    endpoint: CurrentEndpoint,
    session: DbSession,
    status: DeliveryStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> DeliveryPage:
    rows = await deliveries.list_deliveries(
        session=session, endpoint=endpoint, status=status, limit=limit, cursor=cursor
    )
    page = rows[:limit]
    next_cursor = encode_time_cursor(page[-1].created_at, page[-1].id) if len(rows) > limit else None
    return DeliveryPage(deliveries=[_delivery(d) for d in page], next_cursor=next_cursor)


@router.get("/endpoints/{endpoint_id}/deliveries/{webhook_id}", summary="One delivery, its body and its attempts")
async def get_delivery(webhook_id: str, endpoint: CurrentEndpoint, session: DbSession) -> DeliveryDetail:
    delivery = await deliveries.get_delivery(session=session, endpoint=endpoint, webhook_id=webhook_id)
    attempts = await deliveries.attempts_of(session=session, delivery=delivery)
    return DeliveryDetail(
        **_delivery(delivery).model_dump(),
        payload=deliveries.payload_of(delivery),
        attempt_log=[AttemptRead.model_validate(attempt) for attempt in attempts],
    )


@router.post(
    "/endpoints/{endpoint_id}/deliveries/{webhook_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send one delivery again now, under its webhook id",
)
async def replay_delivery(webhook_id: str, endpoint: LockedEndpoint, session: DbSession) -> DeliveryRead:
    delivery = await deliveries.get_delivery(session=session, endpoint=endpoint, webhook_id=webhook_id, lock=True)
    replayed = await deliveries.replay(session=session, endpoint=endpoint, delivery=delivery, now=datetime.now(UTC))
    return _delivery(replayed)


@router.post(
    "/endpoints/{endpoint_id}/replay",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Send again the failed (or also delivered) messages of a time range",
)
async def replay_range(body: ReplayRange, endpoint: LockedEndpoint, session: DbSession) -> ReplayStarted:
    now = datetime.now(UTC)
    count = await deliveries.replay_range(
        session=session,
        endpoint=endpoint,
        since=body.since,
        until=body.until or now,
        include_delivered=body.include_delivered,
        now=now,
    )
    return ReplayStarted(replayed=count)


def _delivery(delivery: WebhookDelivery) -> DeliveryRead:
    return DeliveryRead(
        id=delivery.webhook_id,
        endpoint_id=delivery.endpoint_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        status=DeliveryStatus(delivery.status),
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
        last_status=delivery.last_status,
        last_error=delivery.last_error,
        created_at=delivery.created_at,
        delivered_at=delivery.delivered_at,
        erased=delivery.erased_at is not None,
    )
