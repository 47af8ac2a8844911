"""Recording what attempts came to, many at once: the attempt log, retries with backoff, and each
endpoint's failure streak, which announces a failing endpoint before it disables it."""

import random
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, func, insert, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_svc.webhooks.claims import Claim
from gateway_svc.webhooks.deliveries import fail_pending
from gateway_svc.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from gateway_svc.webhooks.schedule import DisablePolicy, retry_delay
from qunyun_shared.db import UtcDateTime, one_of
from qunyun_shared.events.gateway import WebhookEndpointDisabledV1, WebhookEndpointFailingV1
from qunyun_shared.outbox import Outbox

_TEXT = 300  # the longest error kept
# Core tables, not the ORM: recording runs for every batch of attempts.
_ATTEMPTS = cast(Table, WebhookAttempt.__table__)
_DELIVERIES = cast(Table, WebhookDelivery.__table__)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt came to: the partner's HTTP status, or the error that kept it from answering."""

    claim: Claim
    attempted_at: datetime
    duration_ms: int
    http_status: int | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.error is None and self.http_status is not None and 200 <= self.http_status < 300


@dataclass(frozen=True, slots=True)
class _Streak:
    """An endpoint's failure streak, as just extended."""

    tenant_id: uuid.UUID
    url: str
    enabled: bool
    failing_since: datetime
    consecutive_failures: int
    last_failure: str | None
    failure_notice_at: datetime | None
    disables_at: datetime | None


@dataclass(frozen=True)
class RetryPolicy:
    """How failed deliveries are retried, and when failing endpoints are announced and disabled."""

    schedule: tuple[float, ...]
    disabling: DisablePolicy


async def record(
    *,
    session: AsyncSession,
    outbox: Outbox,
    outcomes: Sequence[Outcome],
    policy: RetryPolicy,
    now: datetime,
    rng: random.Random,
) -> None:
    """Logs the attempts, settles or reschedules their deliveries and updates their endpoints' streaks."""
    if not outcomes:
        return
    await session.execute(insert(_ATTEMPTS), [_attempt(outcome) for outcome in outcomes])
    delivered = [outcome for outcome in outcomes if outcome.delivered]
    failed = [outcome for outcome in outcomes if not outcome.delivered]
    await _settle(session, delivered, now)
    await _reschedule(session, failed, policy.schedule, now, rng)
    reachable = {outcome.claim.endpoint_id for outcome in delivered}
    # Only endpoints that were failing have a streak to end: the others' rows are left alone.
    await _clear_streaks(session, {o.claim.endpoint_id for o in delivered if o.claim.endpoint_failing})
    streaks: dict[uuid.UUID, list[Outcome]] = defaultdict(list)
    for outcome in failed:
        if outcome.claim.endpoint_id not in reachable:
            streaks[outcome.claim.endpoint_id].append(outcome)
    for endpoint_id, failures in streaks.items():
        await _extend_streak(session, outbox, endpoint_id, failures, policy.disabling, now)


def _attempt(outcome: Outcome) -> dict[str, object]:
    return {
        "delivery_id": outcome.claim.delivery_id,
        "attempted_at": outcome.attempted_at,
        "http_status": outcome.http_status,
        "duration_ms": outcome.duration_ms,
        "error": outcome.error[:_TEXT] if outcome.error else None,
    }


async def _settle(session: AsyncSession, delivered: Sequence[Outcome], now: datetime) -> None:
    """Marks deliveries delivered, one statement per HTTP status answered (nearly always one)."""
    by_status: dict[int | None, list[uuid.UUID]] = defaultdict(list)
    for outcome in delivered:
        by_status[outcome.http_status].append(outcome.claim.delivery_id)
    for http_status, ids in by_status.items():
        await session.execute(
            update(_DELIVERIES)
            # Only a delivery still pending: one cancelled by an erasure meanwhile stays cancelled.
            .where(one_of(session, _DELIVERIES.c.id, ids), _DELIVERIES.c.status == DeliveryStatus.PENDING.value)
            .values(
                status=DeliveryStatus.DELIVERED.value,
                attempts=_DELIVERIES.c.attempts + 1,
                next_attempt_at=None,
                last_status=http_status,
                last_error=None,
                delivered_at=now,
            )
        )


# One statement executed for many rows: each failed delivery gets its own retry time.
_RESCHEDULE = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id == bindparam("delivery"), _DELIVERIES.c.status == DeliveryStatus.PENDING.value)
    .values(
        attempts=_DELIVERIES.c.attempts + 1,
        status=bindparam("new_status"),
        next_attempt_at=bindparam("retry_at", type_=UtcDateTime),
        last_status=bindparam("answered"),
        last_error=bindparam("reason"),
    )
)


async def _reschedule(
    session: AsyncSession, failed: Sequence[Outcome], schedule: tuple[float, ...], now: datetime, rng: random.Random
) -> None:
    """Sets each failed delivery's next try by the backoff schedule, or fails it when the schedule has run out."""
    if not failed:
        return
    rows = []
    for outcome in failed:
        delay = retry_delay(schedule, outcome.claim.attempts + 1, rng=rng)
        rows.append(
            {
                "delivery": outcome.claim.delivery_id,
                "new_status": DeliveryStatus.PENDING if delay else DeliveryStatus.FAILED,
                "retry_at": now + delay if delay else None,
                "answered": outcome.http_status,
                "reason": (outcome.error or "")[:_TEXT],
            }
        )
    await session.execute(_RESCHEDULE, rows)


async def _clear_streaks(session: AsyncSession, endpoint_ids: set[uuid.UUID]) -> None:
    """A delivery got through: the endpoint's failure streak and any notice about it end."""
    if not endpoint_ids:
        return
    await session.execute(
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.id.in_(endpoint_ids),
            or_(WebhookEndpoint.failing_since.is_not(None), WebhookEndpoint.consecutive_failures != 0),
        )
        .values(failing_since=None, consecutive_failures=0, last_failure=None, failure_notice_at=None, disables_at=None)
        .execution_options(synchronize_session=False)
    )


async def _extend_streak(
    session: AsyncSession,
    outbox: Outbox,
    endpoint_id: uuid.UUID,
    failures: Sequence[Outcome],
    policy: DisablePolicy,
    now: datetime,
) -> None:
    first = min(outcome.attempted_at for outcome in failures)
    extended = (
        await session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id)
            .values(
                consecutive_failures=WebhookEndpoint.consecutive_failures + len(failures),
                failing_since=func.coalesce(WebhookEndpoint.failing_since, bindparam("first", first, UtcDateTime)),
                last_failure=(failures[-1].error or "")[:_TEXT],
            )
            .returning(
                WebhookEndpoint.tenant_id,
                WebhookEndpoint.url,
                WebhookEndpoint.enabled,
                WebhookEndpoint.failing_since,
                WebhookEndpoint.consecutive_failures,
                WebhookEndpoint.last_failure,
                WebhookEndpoint.failure_notice_at,
                WebhookEndpoint.disables_at,
            )
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    if extended is None:  # deleted meanwhile
        return
    streak = _Streak(**extended._mapping)
    if not streak.enabled:  # disabled meanwhile
        return
    if policy.due_for_disabling(disables_at=streak.disables_at, now=now):
        await _disable(session, outbox, endpoint_id, streak, now)
    elif policy.due_for_notice(
        failing_since=streak.failing_since,
        failures=streak.consecutive_failures,
        noticed=streak.failure_notice_at is not None,
        now=now,
    ):
        await _announce_failing(session, outbox, endpoint_id, streak, policy.disables_at(now), now)


async def _announce_failing(
    session: AsyncSession,
    outbox: Outbox,
    endpoint_id: uuid.UUID,
    streak: _Streak,
    disables_at: datetime,
    now: datetime,
) -> None:
    """Warns the tenant, once per streak (the condition keeps two replicas from both announcing)."""
    noticed = await session.scalar(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.failure_notice_at.is_(None))
        .values(failure_notice_at=now, disables_at=disables_at)
        .returning(WebhookEndpoint.id)
        .execution_options(synchronize_session=False)
    )
    if noticed is None:
        return
    failing = WebhookEndpointFailingV1(
        endpoint_id=endpoint_id,
        url=streak.url,
        failing_since=streak.failing_since,
        consecutive_failures=streak.consecutive_failures,
        last_error=streak.last_failure or "",
        disables_at=disables_at,
    )
    await outbox.add(session, tenant_id=str(streak.tenant_id), payloads=[failing])


async def _disable(
    session: AsyncSession, outbox: Outbox, endpoint_id: uuid.UUID, streak: _Streak, now: datetime
) -> None:
    """Disables the endpoint the tenant was warned about; what it still owed fails, to be replayed later."""
    reason = (
        f"Disabled automatically: every delivery failed since {streak.failing_since:%Y-%m-%d %H:%M:%S} UTC "
        f"({streak.consecutive_failures} attempts); last error: {streak.last_failure}"
    )[:_TEXT]
    await session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(enabled=False, disabled_reason=reason, disabled_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await fail_pending(session=session, endpoint_id=endpoint_id, reason="Not sent: the endpoint was disabled.")
    disabled = WebhookEndpointDisabledV1(
        endpoint_id=endpoint_id,
        url=streak.url,
        failing_since=streak.failing_since,
        consecutive_failures=streak.consecutive_failures,
        last_error=streak.last_failure or "",
        disabled_at=now,
    )
    await outbox.add(session, tenant_id=str(streak.tenant_id), payloads=[disabled])
