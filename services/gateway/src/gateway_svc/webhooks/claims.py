"""Taking due deliveries to send, under a lease, within each endpoint's rate limit.

A claim pushes a delivery's `next_attempt_at` past a lease instead of marking it taken: if the process
dies before recording the attempt, the delivery simply falls due again and another dispatcher (a
replica, or this one restarted) sends it, under the same webhook id. Replicas claim side by side:
rows another one holds are skipped (FOR UPDATE SKIP LOCKED).
"""

import math
import uuid
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_svc.webhooks.models import WebhookDelivery, WebhookEndpoint, webhook_id_of
from gateway_svc.webhooks.sealed_secrets import SecretBox
from qunyun_shared.db import one_of

# An endpoint may send up to a second's worth of its rate at once; beyond that, sends are spread out.
BURST = timedelta(seconds=1)
# Core tables, not the ORM: claiming runs for every batch of deliveries, and the ORM's bookkeeping of
# objects nobody keeps was most of its cost.
_DELIVERIES = cast(Table, WebhookDelivery.__table__)
_ENDPOINTS = cast(Table, WebhookEndpoint.__table__)


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery taken for one attempt, with what sending it needs."""

    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    tenant_id: uuid.UUID
    url: str
    secrets: tuple[str, ...]
    body: bytes
    attempts: int  # made before this one
    endpoint_failing: bool  # the endpoint had a failure streak when claimed, for a success to end
    leased_until: datetime  # past this, another dispatcher may take it: it must not go out later

    @property
    def webhook_id(self) -> str:
        return webhook_id_of(self.delivery_id)


@dataclass(frozen=True, slots=True)
class Claimed:
    """What one claim took, and whether more was due than it could take (for want of room)."""

    claims: list[Claim]
    more_due: bool


async def claim_due(
    *,
    session: AsyncSession,
    now: datetime,
    limit: int,
    lease: timedelta,
    room: Mapping[uuid.UUID, int],
    default_room: int,
    box: SecretBox,
) -> Claimed:
    """Takes up to `limit` due deliveries, at most `room` (else `default_room`) of any one endpoint and no
    more than its rate limit allows now; they stay taken for `lease`, with the endpoint's secrets opened."""
    full = [endpoint_id for endpoint_id, free in room.items() if free <= 0]
    rows = list(await session.execute(_due(now=now, limit=limit, excluded=full)))
    by_endpoint: dict[uuid.UUID, list[Row[Any]]] = defaultdict(list)
    for row in rows:
        by_endpoint[row.endpoint_id].append(row)
    claims: list[Claim] = []
    cut_short = bool(full)
    for endpoint in await _endpoints(session, by_endpoint):
        due = by_endpoint[endpoint.id]
        wanted = due[: room.get(endpoint.id, default_room)]
        cut_short = cut_short or len(wanted) < len(due)
        granted = await _take_sends(session, endpoint, len(wanted), now)
        if granted:
            secrets = box.active(
                endpoint_id=endpoint.id,
                secret=endpoint.secret,
                previous=endpoint.previous_secret,
                previous_expires_at=endpoint.previous_secret_expires_at,
                now=now,
            )
            claims += [_claim(row, endpoint, secrets, now + lease) for row in wanted[:granted]]
    if claims:
        await session.execute(
            update(_DELIVERIES)
            .where(one_of(session, _DELIVERIES.c.id, [claim.delivery_id for claim in claims]))
            .values(next_attempt_at=now + lease)
        )
    return Claimed(claims=claims, more_due=cut_short or len(rows) == limit)


def _due(*, now: datetime, limit: int, excluded: Collection[uuid.UUID]) -> Any:
    """The deliveries due longest, of enabled endpoints with sends left, locked for this transaction."""
    deliveries, endpoints = _DELIVERIES.c, _ENDPOINTS.c
    query = (
        select(deliveries.id, deliveries.endpoint_id, deliveries.body, deliveries.attempts)
        .select_from(_DELIVERIES.join(_ENDPOINTS, endpoints.id == deliveries.endpoint_id))
        .where(
            deliveries.next_attempt_at <= now,
            deliveries.body.is_not(None),
            endpoints.enabled,
            or_(endpoints.sends_scheduled_until.is_(None), endpoints.sends_scheduled_until < now + BURST),
        )
        .order_by(deliveries.next_attempt_at)
        .limit(limit)
        .with_for_update(of=_DELIVERIES, skip_locked=True)
    )
    return query.where(deliveries.endpoint_id.not_in(excluded)) if excluded else query


async def _endpoints(session: AsyncSession, endpoint_ids: Collection[uuid.UUID]) -> list[Row[Any]]:
    """What sending to each endpoint needs, read once per claim rather than with every delivery."""
    if not endpoint_ids:
        return []
    endpoints = _ENDPOINTS.c
    query = select(
        endpoints.id,
        endpoints.tenant_id,
        endpoints.url,
        endpoints.secret,
        endpoints.previous_secret,
        endpoints.previous_secret_expires_at,
        endpoints.rate_limit_per_second,
        endpoints.sends_scheduled_until,
        endpoints.consecutive_failures,
    ).where(one_of(session, endpoints.id, endpoint_ids))
    return list(await session.execute(query))


async def _take_sends(session: AsyncSession, endpoint: Row[Any], wanted: int, now: datetime) -> int:
    """How many of `wanted` sends the endpoint's rate limit allows now, booked on its row (the generic cell
    rate algorithm, so the limit holds across replicas). Booking is conditional on the row being as it was
    read: if another dispatcher booked sends meanwhile, this one takes none this time."""
    rate, read = endpoint.rate_limit_per_second, endpoint.sends_scheduled_until
    scheduled = max(read or now, now)
    granted = max(0, min(wanted, math.floor((now + BURST - scheduled).total_seconds() * rate + 1e-9)))
    if not granted:
        return 0
    unchanged = (
        _ENDPOINTS.c.sends_scheduled_until.is_(None) if read is None else _ENDPOINTS.c.sends_scheduled_until == read
    )
    booked = await session.scalar(
        update(_ENDPOINTS)
        .where(_ENDPOINTS.c.id == endpoint.id, unchanged)
        .values(sends_scheduled_until=scheduled + timedelta(seconds=granted / rate))
        .returning(_ENDPOINTS.c.id)
    )
    return granted if booked is not None else 0


def _claim(row: Row[Any], endpoint: Row[Any], secrets: tuple[str, ...], leased_until: datetime) -> Claim:
    return Claim(
        delivery_id=row.id,
        endpoint_id=endpoint.id,
        tenant_id=endpoint.tenant_id,
        url=endpoint.url,
        secrets=secrets,
        body=row.body.encode(),
        attempts=row.attempts,
        endpoint_failing=endpoint.consecutive_failures > 0,
        leased_until=leased_until,
    )
