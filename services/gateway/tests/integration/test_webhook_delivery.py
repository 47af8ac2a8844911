"""Deliveries on real PostgreSQL to a real HTTP receiver on 127.0.0.1, each one verified by the independent
`standardwebhooks` package: retries after 500s and timeouts, secret rotation, the SSRF guard at delivery
time, and a dispatcher stopped mid-delivery."""

import asyncio
import secrets
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from gateway_svc.config import Settings
from gateway_svc.db import MESSAGING
from gateway_svc.models import Base
from gateway_svc.tenants.models import Tenant
from gateway_svc.webhooks import fanout
from gateway_svc.webhooks import service as endpoints
from gateway_svc.webhooks.dispatcher import Dispatcher
from gateway_svc.webhooks.models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from gateway_svc.webhooks.schemas import EndpointCreate
from gateway_svc.webhooks.sealed_secrets import SecretBox
from qunyun_shared.events import new_event
from qunyun_shared.events.member import MemberTaggedV1
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import eventually
from tests.support.harness import scratch_database
from tests.support.webhook_receiver import Receiver, serving

pytestmark = pytest.mark.integration

TIMEOUT_SECONDS = 0.5
WEBHOOK_SECRET_KEY = "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="  # base64 of 32 bytes
BOX = SecretBox(WEBHOOK_SECRET_KEY)


@pytest_asyncio.fixture(scope="module")
async def engine() -> AsyncIterator[AsyncEngine]:
    async with scratch_database(Base.metadata) as engine:
        yield engine


def settings(engine: AsyncEngine, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": engine.url.render_as_string(hide_password=False),
        "internal_token_secret": secrets.token_urlsafe(32),
        "platform_admin_token": secrets.token_urlsafe(32),
        "access_token_secret": secrets.token_urlsafe(32),
        "webhook_secret_key": WEBHOOK_SECRET_KEY,
        "webhook_allow_private_targets": True,
        "webhook_timeout_seconds": TIMEOUT_SECONDS,
        "webhook_retry_seconds": (0.2, 0.4, 0.8, 1.6),
    }
    return Settings(**(values | overrides))


@asynccontextmanager
async def dispatching(engine: AsyncEngine, **overrides: Any) -> AsyncIterator[asyncio.Task[None]]:
    dispatcher = Dispatcher(
        outbox=Outbox(table=MESSAGING.outbox, source="gateway", topic_prefix="it"),
        settings=settings(engine, **overrides),
    )
    task = asyncio.create_task(dispatcher.run())
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


@dataclass(frozen=True)
class Subscription:
    tenant_id: uuid.UUID
    endpoint_id: uuid.UUID
    secret: str


async def subscribe(engine: AsyncEngine, url: str, *, rate: int = 1000) -> Subscription:
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        tenant = Tenant(name=f"it-{uuid.uuid4().hex[:8]}")
        session.add(tenant)
        await session.flush()
        owner = Identity(tenant_id=str(tenant.id), principal="api_key:it", roles=("owner",), permissions=frozenset("*"))
        endpoint, secret = await endpoints.create_endpoint(
            session=session,
            caller=owner,
            endpoint_in=EndpointCreate(url=url, event_types=["member.tagged"], rate_limit_per_second=rate),
            allow_private=True,
            box=BOX,
            now=datetime.now(UTC),
        )
    return Subscription(tenant.id, endpoint.id, secret)


async def publish(engine: AsyncEngine, subscription: Subscription, count: int) -> list[str]:
    """Fans `count` events out as the gateway's consumer would; returns their event ids."""
    events = [
        new_event(
            source="member-svc",
            tenant_id=str(subscription.tenant_id),
            payload=MemberTaggedV1(member_id=uuid.uuid4(), tag=f"tag-{index}", kind="manual", action="added"),
        )
        for index in range(count)
    ]
    async with AsyncSession(engine) as session, session.begin():
        await fanout.fan_out(session=session, events=events, now=datetime.now(UTC))
    return [event.id for event in events]


async def deliveries(engine: AsyncEngine, subscription: Subscription) -> list[WebhookDelivery]:
    async with AsyncSession(engine) as session:
        query = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == subscription.endpoint_id)
        return list(await session.scalars(query))


async def all_delivered(engine: AsyncEngine, subscription: Subscription, count: int) -> list[WebhookDelivery]:
    async def done() -> list[WebhookDelivery]:
        rows = await deliveries(engine, subscription)
        assert len(rows) == count and {row.status for row in rows} == {DeliveryStatus.DELIVERED}, Counter(
            row.status for row in rows
        )
        return rows

    return await eventually(done, timeout=30)


async def test_every_delivery_arrives_signed_as_standard_webhooks_specifies(engine: AsyncEngine) -> None:
    async with serving(Receiver()) as receiver:
        subscription = await subscribe(engine, receiver.url)
        async with dispatching(engine):
            published = await publish(engine, subscription, 50)
            rows = await all_delivered(engine, subscription, 50)
    assert receiver.verified_event_ids(subscription.secret) == set(published)
    assert set(receiver.tries.values()) == {1} and len(receiver.received) == 50
    assert {row.webhook_id for row in rows} == receiver.webhook_ids()
    headers, _ = receiver.received[0]
    assert headers["content-type"] == "application/json" and headers["user-agent"].startswith("Qunyun-Webhooks/")
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "A" * 43 + "=").verify(receiver.received[0][1], headers)


async def test_500s_are_retried_under_the_same_webhook_id_until_delivered(engine: AsyncEngine) -> None:
    async with serving(Receiver(failures_first=2)) as receiver:
        subscription = await subscribe(engine, receiver.url)
        async with dispatching(engine):
            published = await publish(engine, subscription, 10)
            rows = await all_delivered(engine, subscription, 10)
    assert receiver.verified_event_ids(subscription.secret) == set(published)
    assert set(receiver.tries.values()) == {3} and {row.attempts for row in rows} == {3}
    async with AsyncSession(engine) as session:
        attempts = list(await session.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id == rows[0].id)))
    assert [attempt.http_status for attempt in sorted(attempts, key=lambda a: a.id)] == [500, 500, 204]


async def test_a_partner_that_does_not_answer_in_time_is_tried_again(engine: AsyncEngine) -> None:
    async with serving(Receiver(stalls_first=1, stall_seconds=TIMEOUT_SECONDS * 3)) as receiver:
        subscription = await subscribe(engine, receiver.url)
        async with dispatching(engine):
            published = await publish(engine, subscription, 5)
            rows = await all_delivered(engine, subscription, 5)
    assert receiver.verified_event_ids(subscription.secret) == set(published)
    assert {row.attempts for row in rows} == {2}
    async with AsyncSession(engine) as session:
        errors = set(await session.scalars(select(WebhookAttempt.error).where(WebhookAttempt.error.is_not(None))))
    assert "The endpoint did not answer in time." in errors


async def test_during_a_rotation_a_partner_holding_either_secret_verifies_every_delivery(engine: AsyncEngine) -> None:
    async with serving(Receiver()) as receiver:
        subscription = await subscribe(engine, receiver.url)
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            endpoint = await session.get_one(WebhookEndpoint, subscription.endpoint_id)
            _, new_secret = await endpoints.rotate_secret(
                session=session, endpoint=endpoint, overlap=timedelta(seconds=2), box=BOX, now=datetime.now(UTC)
            )
        async with dispatching(engine):
            during = await publish(engine, subscription, 5)
            await all_delivered(engine, subscription, 5)
            assert (
                receiver.verified_event_ids(subscription.secret)
                == set(during)
                == receiver.verified_event_ids(new_secret)
            )
            assert all(len(headers["webhook-signature"].split()) == 2 for headers, _ in receiver.received)

            await asyncio.sleep(2.1)  # waits out the 2 s overlap: what follows is signed with the new secret only
            receiver.received.clear()
            after = await publish(engine, subscription, 5)
            await all_delivered(engine, subscription, 10)
    assert receiver.verified_event_ids(new_secret) == set(after)
    with pytest.raises(WebhookVerificationError):
        receiver.verified_event_ids(subscription.secret)


async def test_secrets_are_stored_sealed_yet_every_delivery_verifies(engine: AsyncEngine) -> None:
    async with serving(Receiver()) as receiver:
        subscription = await subscribe(engine, receiver.url)
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            endpoint = await session.get_one(WebhookEndpoint, subscription.endpoint_id)
            _, new_secret = await endpoints.rotate_secret(
                session=session, endpoint=endpoint, overlap=timedelta(minutes=5), box=BOX, now=datetime.now(UTC)
            )
        async with engine.connect() as connection:
            stored = await connection.scalar(
                text("SELECT e::text FROM webhook_endpoints e WHERE id = :id"), {"id": subscription.endpoint_id}
            )
        # Neither secret, nor its key, in any column of the raw row: only what WEBHOOK_SECRET_KEY opens.
        for secret in (subscription.secret, new_secret):
            assert secret not in stored and secret.removeprefix("whsec_") not in stored
        assert "whsec_" not in stored
        async with dispatching(engine):
            published = await publish(engine, subscription, 3)
            await all_delivered(engine, subscription, 3)
    assert receiver.verified_event_ids(subscription.secret) == set(published) == receiver.verified_event_ids(new_secret)


async def test_a_target_refused_at_delivery_time_receives_nothing(engine: AsyncEngine) -> None:
    async with serving(Receiver()) as receiver:
        subscription = await subscribe(engine, receiver.url)
        # Allowed when it was saved; this deployment does not deliver to loopback addresses.
        async with dispatching(engine, webhook_allow_private_targets=False):
            await publish(engine, subscription, 2)

            async def refused() -> None:
                rows = await deliveries(engine, subscription)
                assert rows and all(row.attempts >= 1 for row in rows)
                assert {row.last_error for row in rows} == {"A webhook URL uses https, not 'http'."}
                assert {row.status for row in rows} == {DeliveryStatus.PENDING}  # retried later, maybe allowed then

            await eventually(refused, timeout=15)
    assert receiver.received == []


async def test_deliveries_in_flight_when_the_dispatcher_stops_go_out_after_a_restart(engine: AsyncEngine) -> None:
    async with serving(Receiver(pace_seconds=0.2)) as receiver:
        subscription = await subscribe(engine, receiver.url)
        published = await publish(engine, subscription, 200)
        async with dispatching(engine):

            async def some_arrived() -> None:
                assert len(receiver.received) >= 20

            await eventually(some_arrived, timeout=15)
        assert len(receiver.webhook_ids()) < 200  # stopped mid-way, with sends on the wire
        receiver.pace_seconds = 0.0
        async with dispatching(engine):
            await all_delivered(engine, subscription, 200)
    assert receiver.verified_event_ids(subscription.secret) == set(published)
    # At least once: whatever was on the wire when it stopped may have arrived twice, under one webhook id.
    assert len(receiver.webhook_ids()) == 200
