"""Claiming due deliveries (lease, rate limit, room) and recording outcomes (retries, streaks, announcements)."""

import random
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_svc.db import MESSAGING
from gateway_svc.models import Base
from gateway_svc.webhooks import fanout
from gateway_svc.webhooks.claims import Claim, claim_due
from gateway_svc.webhooks.flight import MAX_ROUNDS, MIN_ROUNDS, Flight
from gateway_svc.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookEndpoint
from gateway_svc.webhooks.outcomes import Outcome, RetryPolicy, record
from gateway_svc.webhooks.schedule import JITTER, DisablePolicy
from qunyun_shared.events.gateway import WebhookEndpointDisabledV1, WebhookEndpointFailingV1
from qunyun_shared.testing import in_memory_database, staged_events

from .webhook_world import BOX, NOW, deliveries_of, event, new_endpoint, new_tenant, outbox, tagged

pytestmark = pytest.mark.unit

LEASE = timedelta(seconds=60)
DISABLING = DisablePolicy(notice_after=timedelta(hours=1), notice_period=timedelta(hours=2), min_failures=3)
POLICY = RetryPolicy(schedule=(10.0, 100.0), disabling=DISABLING)
# Retries a day apart, so that the streak tests count only the failures they cause.
SLOW_RETRIES = RetryPolicy(schedule=(86_400.0,), disabling=DISABLING)


@pytest_asyncio.fixture
async def session() -> AsyncIterator[AsyncSession]:
    async with in_memory_database(Base.metadata) as engine, AsyncSession(engine, expire_on_commit=False) as session:
        yield session


async def owed(session: AsyncSession, endpoint: WebhookEndpoint, count: int) -> None:
    await fanout.fan_out(session=session, events=[event(endpoint.tenant_id, tagged()) for _ in range(count)], now=NOW)


async def claim(session: AsyncSession, at: timedelta = timedelta(0), limit: int = 100, **room: int) -> list[Claim]:
    rooms = {uuid.UUID(endpoint_id): free for endpoint_id, free in room.items()}
    claimed = await claim_due(
        session=session, now=NOW + at, limit=limit, lease=LEASE, room=rooms, default_room=100, box=BOX
    )
    return claimed.claims


async def test_a_claim_takes_due_deliveries_under_a_lease_that_makes_them_due_again(session: AsyncSession) -> None:
    endpoint = await new_endpoint(session, await new_tenant(session))
    await owed(session, endpoint, 3)

    first = await claim(session)
    assert len(first) == 3 and {c.body for c in first} == {
        d.body.encode() for d in await deliveries_of(session, endpoint) if d.body
    }
    assert all(d.next_attempt_at == NOW + LEASE for d in await deliveries_of(session, endpoint))
    assert await claim(session, at=LEASE - timedelta(seconds=1)) == []
    # Never recorded (the process died): due again once the lease is over, under the same webhook id.
    again = await claim(session, at=LEASE)
    assert sorted(c.webhook_id for c in again) == sorted(c.webhook_id for c in first)


async def test_an_endpoints_rate_limit_spreads_its_sends(session: AsyncSession) -> None:
    endpoint = await new_endpoint(session, await new_tenant(session), rate=4)
    await owed(session, endpoint, 10)

    assert len(await claim(session)) == 4  # a second's worth at once
    assert await claim(session, at=timedelta(milliseconds=100)) == []
    assert len(await claim(session, at=timedelta(milliseconds=500))) == 2
    assert len(await claim(session, at=timedelta(seconds=2))) == 4


async def test_claims_keep_to_each_endpoints_room_and_skip_disabled_endpoints(session: AsyncSession) -> None:
    busy, idle, switched_off = [await new_endpoint(session, await new_tenant(session)) for _ in range(3)]
    for endpoint in (busy, idle, switched_off):
        await owed(session, endpoint, 5)
    switched_off.enabled = False
    await session.flush()

    claims = await claim(session, **{str(busy.id): 2})
    taken = {endpoint: sum(c.endpoint_id == endpoint.id for c in claims) for endpoint in (busy, idle, switched_off)}
    assert taken == {busy: 2, idle: 5, switched_off: 0}
    assert not [c for c in await claim(session, **{str(busy.id): 0}) if c.endpoint_id == busy.id]


async def test_during_a_rotation_both_secrets_sign_until_the_old_one_expires(session: AsyncSession) -> None:
    endpoint = await new_endpoint(session, await new_tenant(session))
    old, new = BOX.open(endpoint.secret, endpoint_id=endpoint.id), "whsec_" + "A" * 43 + "="
    endpoint.previous_secret, endpoint.secret = endpoint.secret, BOX.seal(new, endpoint_id=endpoint.id)
    endpoint.previous_secret_expires_at = NOW + timedelta(minutes=5)
    await owed(session, endpoint, 2)
    [during] = await claim(session, limit=1)
    assert during.secrets == (new, old)  # opened: stored sealed, signed in clear
    after = await claim(session, at=timedelta(minutes=5))
    assert len(after) == 2 and {c.secrets for c in after} == {(new,)}


def outcome(claimed: Claim, at: timedelta, status: int | None = 500, error: str | None = None) -> Outcome:
    failed = error or (None if status is not None and 200 <= status < 300 else f"The endpoint answered HTTP {status}.")
    return Outcome(claim=claimed, attempted_at=NOW + at, duration_ms=12, http_status=status, error=failed)


async def settle(session: AsyncSession, outcomes: list[Outcome], at: timedelta, policy: RetryPolicy = POLICY) -> None:
    await record(session=session, outbox=outbox(), outcomes=outcomes, policy=policy, now=NOW + at, rng=random.Random(3))


async def test_a_success_settles_the_delivery_and_logs_the_attempt(session: AsyncSession) -> None:
    endpoint = await new_endpoint(session, await new_tenant(session))
    await owed(session, endpoint, 1)
    [claimed] = await claim(session)
    await settle(session, [outcome(claimed, timedelta(seconds=1), status=204)], timedelta(seconds=1))

    [delivery] = await deliveries_of(session, endpoint)
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (DeliveryStatus.DELIVERED, 1, None)
    assert (delivery.last_status, delivery.delivered_at) == (204, NOW + timedelta(seconds=1))
    [attempt] = await session.scalars(select(WebhookAttempt))
    assert (attempt.http_status, attempt.duration_ms, attempt.error) == (204, 12, None)


async def test_failures_are_retried_by_the_schedule_then_fail_for_good(session: AsyncSession) -> None:
    endpoint = await new_endpoint(session, await new_tenant(session))
    await owed(session, endpoint, 1)
    at = timedelta(0)
    for figure in (*POLICY.schedule, None):
        [claimed] = await claim(session, at=at)
        await settle(session, [outcome(claimed, at, error="The endpoint did not answer in time.")], at)
        [delivery] = await deliveries_of(session, endpoint)
        if figure is None:
            assert (delivery.status, delivery.next_attempt_at) == (DeliveryStatus.FAILED, None)
            break
        assert delivery.status == DeliveryStatus.PENDING and delivery.next_attempt_at is not None
        wait = (delivery.next_attempt_at - (NOW + at)).total_seconds()
        assert figure * (1 - JITTER) <= wait <= figure * (1 + JITTER)
        at = delivery.next_attempt_at - NOW
    assert (delivery.attempts, delivery.last_error) == (3, "The endpoint did not answer in time.")
    assert len(list(await session.scalars(select(WebhookAttempt)))) == 3


async def fail_everything(session: AsyncSession, endpoint: WebhookEndpoint, at: timedelta, count: int = 1) -> None:
    await owed(session, endpoint, count)
    claims = [c for c in await claim(session, at=at) if c.endpoint_id == endpoint.id]
    await settle(session, [outcome(c, at, status=503) for c in claims], at, SLOW_RETRIES)


async def test_a_failing_endpoint_is_announced_then_disabled_and_what_it_owed_fails(session: AsyncSession) -> None:
    endpoint = await new_endpoint(session, await new_tenant(session))
    await fail_everything(session, endpoint, timedelta(0), count=3)
    await fail_everything(session, endpoint, timedelta(minutes=59))
    assert await staged_events(session, MESSAGING.outbox) == []  # failing, but not for long enough yet

    await fail_everything(session, endpoint, timedelta(minutes=61))
    [(kind, failing)] = await staged_events(session, MESSAGING.outbox)
    await session.refresh(endpoint)
    assert kind == "webhook.endpoint_failing" and isinstance(failing, WebhookEndpointFailingV1)
    assert (failing.endpoint_id, failing.failing_since, failing.consecutive_failures) == (endpoint.id, NOW, 5)
    assert failing.disables_at == NOW + timedelta(minutes=61 + 120) == endpoint.disables_at
    assert endpoint.failure_notice_at == NOW + timedelta(minutes=61) and endpoint.enabled

    await fail_everything(session, endpoint, timedelta(minutes=61 + 119))  # announced once only
    assert len(await staged_events(session, MESSAGING.outbox)) == 1

    await owed(session, endpoint, 2)  # owed, not yet sent, when it is disabled
    await fail_everything(session, endpoint, timedelta(minutes=61 + 120))
    events = await staged_events(session, MESSAGING.outbox)
    assert [kind for kind, _ in events] == ["webhook.endpoint_failing", "webhook.endpoint_disabled"]
    disabled = events[1][1]
    assert isinstance(disabled, WebhookEndpointDisabledV1) and disabled.endpoint_id == endpoint.id
    await session.refresh(endpoint)
    assert not endpoint.enabled and endpoint.disabled_reason and "503" in endpoint.disabled_reason
    assert DeliveryStatus.PENDING not in {d.status for d in await deliveries_of(session, endpoint)}


async def test_one_success_ends_the_streak_and_the_notice(session: AsyncSession) -> None:
    endpoint = await new_endpoint(session, await new_tenant(session))
    await fail_everything(session, endpoint, timedelta(0), count=3)
    await fail_everything(session, endpoint, timedelta(minutes=61))
    await session.refresh(endpoint)
    assert endpoint.failure_notice_at is not None

    await owed(session, endpoint, 1)
    [claimed] = await claim(session, at=timedelta(minutes=62))
    await settle(session, [outcome(claimed, timedelta(minutes=62), status=200)], timedelta(minutes=62), SLOW_RETRIES)
    await session.refresh(endpoint)
    assert (endpoint.failing_since, endpoint.consecutive_failures, endpoint.failure_notice_at) == (None, 0, None)
    assert endpoint.disables_at is None and endpoint.enabled


def a_claim(endpoint_id: uuid.UUID) -> Claim:
    return Claim(
        delivery_id=uuid.uuid4(),
        endpoint_id=endpoint_id,
        tenant_id=uuid.uuid4(),
        url="https://93.184.216.34/hooks",
        secrets=("whsec_" + "A" * 43 + "=",),
        body=b"{}",
        attempts=0,
        endpoint_failing=False,
        leased_until=NOW + LEASE,
    )


async def test_a_fast_partner_gets_deep_claims_and_a_slow_one_shallow_ones() -> None:
    flight = Flight(max_in_flight=256, endpoint_cap=32)
    fast, slow, unheard = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for endpoint, answered_in in ((fast, 0.002), (slow, 2.0)):
        for _ in range(200):
            flight.take(a_claim(endpoint))
            flight.release(endpoint, answered_in)
    assert flight.depth(fast) == 32 * MAX_ROUNDS
    assert flight.depth(slow) == flight.depth(unheard) == flight.first_depth == 32 * MIN_ROUNDS


async def test_room_is_signalled_once_half_of_an_endpoints_claims_are_done() -> None:
    flight = Flight(max_in_flight=256, endpoint_cap=4)
    endpoint = uuid.uuid4()
    for _ in range(flight.first_depth):
        flight.take(a_claim(endpoint))
    assert flight.room_by_endpoint() == {endpoint: 0}
    for done in range(1, flight.first_depth // 2 + 1):
        flight.release(endpoint, None)
        assert flight.room.is_set() == (done == flight.first_depth // 2)
    assert flight.room_by_endpoint() == {endpoint: flight.first_depth // 2}
    flight.room.clear()
    flight.release(endpoint, None)
    assert flight.room.is_set()  # and on, while below half, until a claim refills it
