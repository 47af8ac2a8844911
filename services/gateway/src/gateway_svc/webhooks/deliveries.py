"""The delivery log of an endpoint: pages of it, one delivery with its attempts, replays and pruning.

A replay is one more attempt now, under the message's original webhook id (partners drop what they
already had); if it fails, the retry schedule carries on from where the message had got to.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import Table, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_svc.webhooks.exceptions import DeliveryErased, DeliveryNotFound, EndpointDisabled, InvalidReplayRange
from gateway_svc.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from qunyun_shared.pagination import decode_time_cursor
from qunyun_shared.retention import pruning
from qunyun_shared.runtime import Sweep

MAX_REPLAY_SPAN = timedelta(days=7)
MAX_REPLAY_DELIVERIES = 10_000
_WEBHOOK_ID_PREFIX = "msg_"


async def list_deliveries(
    *,
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    status: DeliveryStatus | None,
    limit: int,
    cursor: str | None,
) -> list[WebhookDelivery]:
    """Newest first; `limit + 1` rows, so the caller can tell whether there is a next page."""
    query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if cursor is not None:
        at, last_id = decode_time_cursor(cursor)
        query = query.where(
            or_(
                WebhookDelivery.created_at < at,
                and_(WebhookDelivery.created_at == at, WebhookDelivery.id < last_id),
            )
        )
    query = query.order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(limit + 1)
    return list(await session.scalars(query))


async def get_delivery(
    *, session: AsyncSession, endpoint: WebhookEndpoint, webhook_id: str, lock: bool = False
) -> WebhookDelivery:
    """One delivery of the endpoint by its webhook id (`msg_...`); raises DeliveryNotFound otherwise."""
    delivery_id = _delivery_id(webhook_id)
    query = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint.id)
    delivery = await session.scalar(query.with_for_update() if lock else query) if delivery_id else None
    if delivery is None:
        raise DeliveryNotFound(f"No delivery {webhook_id} to this endpoint.")
    return delivery


def payload_of(delivery: WebhookDelivery) -> dict[str, Any] | None:
    """The body the delivery carries, parsed; None once erased."""
    if delivery.body is None:
        return None
    payload: dict[str, Any] = orjson.loads(delivery.body)
    return payload


async def attempts_of(*, session: AsyncSession, delivery: WebhookDelivery) -> Sequence[WebhookAttempt]:
    """Every attempt at a delivery, first first."""
    query = select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id).order_by(WebhookAttempt.id)
    return (await session.scalars(query)).all()


async def replay(
    *, session: AsyncSession, endpoint: WebhookEndpoint, delivery: WebhookDelivery, now: datetime
) -> WebhookDelivery:
    """Makes a delivery due now; one whose body was erased cannot go out again."""
    _check_enabled(endpoint)
    if delivery.body is None:
        raise DeliveryErased(f"Delivery {delivery.webhook_id} is about an erased member; it is not sent again.")
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = now
    await session.flush()
    return delivery


async def replay_range(
    *,
    session: AsyncSession,
    endpoint: WebhookEndpoint,
    since: datetime,
    until: datetime,
    include_delivered: bool,
    now: datetime,
) -> int:
    """Makes the endpoint's failed (or also delivered) messages created in [since, until) due now; returns how many."""
    _check_enabled(endpoint)
    if until <= since:
        raise InvalidReplayRange("A replay range ends after it starts.", field="until")
    if until - since > MAX_REPLAY_SPAN:
        raise InvalidReplayRange(f"A replay range spans at most {MAX_REPLAY_SPAN.days} days.", field="until")
    statuses = [DeliveryStatus.FAILED, *([DeliveryStatus.DELIVERED] if include_delivered else [])]
    chosen = and_(
        WebhookDelivery.endpoint_id == endpoint.id,
        WebhookDelivery.created_at >= since,
        WebhookDelivery.created_at < until,
        WebhookDelivery.status.in_(statuses),
        WebhookDelivery.body.is_not(None),
    )
    count = await session.scalar(select(func.count()).select_from(WebhookDelivery).where(chosen)) or 0
    if count > MAX_REPLAY_DELIVERIES:
        raise InvalidReplayRange(
            f"The range holds {count} messages; replay at most {MAX_REPLAY_DELIVERIES} at once.", field="since"
        )
    if count:
        await session.execute(
            update(WebhookDelivery)
            .where(chosen)
            .values(status=DeliveryStatus.PENDING, next_attempt_at=now)
            .execution_options(synchronize_session=False)
        )
    return count


async def fail_pending(*, session: AsyncSession, endpoint_id: uuid.UUID, reason: str) -> None:
    """Gives up on what an endpoint was still owed (it was disabled); the messages stay replayable."""
    await session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.FAILED, next_attempt_at=None, last_error=reason)
        .execution_options(synchronize_session=False)
    )


def retention_sweep(retention: timedelta) -> Sweep:
    """A `run_sweep` batch deleting settled deliveries (their attempts cascade) older than `retention`."""
    table = cast(Table, WebhookDelivery.__table__)
    return pruning(table, table.c.created_at, retention, settled=table.c.status != DeliveryStatus.PENDING)


def _check_enabled(endpoint: WebhookEndpoint) -> None:
    if not endpoint.enabled:
        raise EndpointDisabled("The endpoint is disabled: enable it (PATCH enabled=true) before replaying to it.")


def _delivery_id(webhook_id: str) -> uuid.UUID | None:
    if not webhook_id.startswith(_WEBHOOK_ID_PREFIX):
        return None
    try:
        return uuid.UUID(hex=webhook_id.removeprefix(_WEBHOOK_ID_PREFIX))
    except ValueError:
        return None
