"""Fan-out: which public events become deliveries to which endpoints, and erasure in the delivery log."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_svc.handlers import HANDLERS, on_public_events
from gateway_svc.models import Base
from gateway_svc.webhooks import fanout
from gateway_svc.webhooks.models import DeliveryStatus, WebhookDelivery
from qunyun_shared.events import CATALOGUE
from qunyun_shared.events.campaign import OrderPaidV1
from qunyun_shared.events.member import MemberBirthdaySetV1, MemberErasedV1
from qunyun_shared.inbox import takes_news_only
from qunyun_shared.testing import in_memory_database

from .webhook_world import NOW, deliveries_of, event, new_endpoint, new_tenant, outbox, tagged

pytestmark = pytest.mark.unit


@pytest_asyncio.fixture
async def session() -> AsyncIterator[AsyncSession]:
    async with in_memory_database(Base.metadata) as engine, AsyncSession(engine, expire_on_commit=False) as session:
        yield session


def test_only_public_event_types_are_consumed_for_partners() -> None:
    internal = {spec.type for spec in CATALOGUE.values() if not spec.public}
    assert {"member.birthday_set", "reward.granted"} <= internal
    assert internal.isdisjoint(HANDLERS)
    assert {"member.joined", "order.paid", "member.erased", "webhook.endpoint_failing"} <= set(HANDLERS)


async def test_an_event_goes_to_each_enabled_endpoint_of_its_tenant_subscribed_to_its_type(
    session: AsyncSession,
) -> None:
    tenant, other_tenant = await new_tenant(session), await new_tenant(session)
    subscribed = await new_endpoint(session, tenant, event_types=["member.tagged", "order.paid"])
    also_subscribed = await new_endpoint(session, tenant, event_types=["member.tagged"])
    other_type = await new_endpoint(session, tenant, event_types=["order.paid"])
    disabled = await new_endpoint(session, tenant, event_types=["member.tagged"], enabled=False)
    other_tenants = await new_endpoint(session, other_tenant, event_types=["member.tagged"])

    staged = await fanout.fan_out(session=session, events=[event(tenant, tagged())], now=NOW)

    assert staged == 2
    for endpoint, expected in (
        (subscribed, 1),
        (also_subscribed, 1),
        (other_type, 0),
        (disabled, 0),
        (other_tenants, 0),
    ):
        assert len(await deliveries_of(session, endpoint)) == expected


async def test_a_delivery_carries_the_standard_webhooks_body_and_is_due_at_once(session: AsyncSession) -> None:
    tenant = await new_tenant(session)
    endpoint = await new_endpoint(session, tenant)
    member_id = uuid.uuid4()
    tagging = event(tenant, tagged(member_id))

    await fanout.fan_out(session=session, events=[tagging], now=NOW)

    [delivery] = await deliveries_of(session, endpoint)
    assert delivery.body is not None
    assert orjson.loads(delivery.body) == {
        "id": tagging.id,
        "type": "member.tagged",
        "version": 1,
        "timestamp": tagging.time.isoformat(),
        "data": {"member_id": str(member_id), "tag": "孕晚期", "kind": "manual", "action": "added"},
    }
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (DeliveryStatus.PENDING, 0, NOW)
    assert (delivery.event_id, delivery.member_id, delivery.tenant_id) == (tagging.id, member_id, tenant)
    assert delivery.webhook_id == f"msg_{delivery.id.hex}"


async def test_an_event_fanned_out_twice_is_delivered_once(session: AsyncSession) -> None:
    tenant = await new_tenant(session)
    endpoint = await new_endpoint(session, tenant)
    tagging = event(tenant, tagged())
    await fanout.fan_out(session=session, events=[tagging], now=NOW)
    assert await fanout.fan_out(session=session, events=[tagging], now=NOW) == 1  # staged, then ignored
    assert len(await deliveries_of(session, endpoint)) == 1


async def test_events_of_other_tenants_or_none_the_gateway_knows_fan_out_nowhere(session: AsyncSession) -> None:
    tenant = await new_tenant(session)
    endpoint = await new_endpoint(session, tenant)
    events = [event("not-a-tenant-id", tagged()), event(uuid.uuid4(), tagged())]
    assert await fanout.fan_out(session=session, events=events, now=NOW) == 0
    assert await deliveries_of(session, endpoint) == []


async def test_erasure_scrubs_the_bodies_about_the_member_and_cancels_what_was_not_sent(session: AsyncSession) -> None:
    tenant = await new_tenant(session)
    endpoint = await new_endpoint(session, tenant, event_types=["member.tagged", "member.erased", "order.paid"])
    member_id, bystander = uuid.uuid4(), uuid.uuid4()
    paid = OrderPaidV1(order_id=uuid.uuid4(), member_id=member_id, amount_fen=990, paid_at=NOW)
    await fanout.fan_out(
        session=session,
        events=[
            event(tenant, tagged(member_id)),
            event(tenant, paid, "campaign-svc"),
            event(tenant, tagged(bystander)),
        ],
        now=NOW,
    )
    delivered = await session.scalar(select(WebhookDelivery).where(WebhookDelivery.event_type == "member.tagged"))
    assert delivered is not None and delivered.member_id == member_id
    delivered.status, delivered.next_attempt_at = DeliveryStatus.DELIVERED, None
    await session.flush()

    later = datetime(2026, 11, 24, tzinfo=UTC)
    await fanout.fan_out(session=session, events=[event(tenant, MemberErasedV1(member_id=member_id))], now=later)

    rows = {(d.event_type, d.erased_at is not None): d for d in await deliveries_of(session, endpoint)}
    scrubbed_tag, cancelled_order = rows[("member.tagged", True)], rows[("order.paid", True)]
    assert (scrubbed_tag.body, scrubbed_tag.member_id, scrubbed_tag.status) == (None, None, DeliveryStatus.DELIVERED)
    assert (cancelled_order.body, cancelled_order.status, cancelled_order.next_attempt_at) == (
        None,
        DeliveryStatus.CANCELLED,
        None,
    )
    erasure = rows[("member.erased", False)]
    assert erasure.status == DeliveryStatus.PENDING and str(member_id) in (erasure.body or "")
    untouched = rows[("member.tagged", False)]
    assert untouched.member_id == bystander and untouched.body is not None


async def test_events_about_an_erased_member_are_not_sent_even_late(session: AsyncSession) -> None:
    tenant = await new_tenant(session)
    endpoint = await new_endpoint(session, tenant, event_types=["member.tagged", "member.erased"])
    member_id = uuid.uuid4()
    erased = event(tenant, MemberErasedV1(member_id=member_id))
    late = [event(tenant, tagged(member_id)), event(tenant, tagged(member_id))]

    await fanout.fan_out(session=session, events=[erased, late[0]], now=NOW)
    await fanout.fan_out(session=session, events=[late[1]], now=NOW)

    assert [d.event_type for d in await deliveries_of(session, endpoint)] == ["member.erased"]


async def test_an_internal_event_goes_nowhere_even_to_an_endpoint_subscribed_to_it(session: AsyncSession) -> None:
    tenant = await new_tenant(session)
    # The API refuses such a subscription; one made while the event was public would be stored like this.
    endpoint = await new_endpoint(session, tenant, event_types=["member.birthday_set"])
    birthday = event(tenant, MemberBirthdaySetV1(member_id=uuid.uuid4(), birthday="07-19"))
    await on_public_events(session, outbox(), [birthday])
    assert await deliveries_of(session, endpoint) == []


def test_events_announcing_imported_history_reach_no_endpoint() -> None:
    """The consumer passes them over by their header, before any delivery could be made of them
    (test_a_news_only_handler_is_never_given_imported_history, in the shared library's tests)."""
    assert HANDLERS and all(takes_news_only(handler) for handler in HANDLERS.values())
