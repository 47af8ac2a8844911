"""The webhooks API in process: endpoints, bad input, who sees what, the delivery log and replays."""

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_svc.dependencies import rate_limited_caller
from gateway_svc.models import Base
from gateway_svc.webhooks import api as webhooks_api
from gateway_svc.webhooks import fanout
from gateway_svc.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from qunyun_shared import problems
from qunyun_shared.dependencies import transaction
from qunyun_shared.events import CATALOGUE
from qunyun_shared.events.member import MemberErasedV1
from qunyun_shared.identity import Identity
from qunyun_shared.testing import in_memory_database

from .webhook_world import NOW, caller, deliveries_of, event, new_tenant, settings, tagged

pytestmark = pytest.mark.unit

PUBLIC_URL = "https://93.184.216.34/qunyun/hooks"  # an IP literal: no DNS in unit tests
ENDPOINT = {"url": PUBLIC_URL, "event_types": ["member.tagged", "member.erased"], "description": "CRM sync"}


@pytest_asyncio.fixture
async def session() -> AsyncIterator[AsyncSession]:
    async with in_memory_database(Base.metadata) as engine, AsyncSession(engine, expire_on_commit=False) as session:
        yield session


@asynccontextmanager
async def api(
    session: AsyncSession, who: Callable[[], Identity], **configured: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The webhooks routes on the test's session, for whoever `who` names at the time of a request."""

    async def same_session() -> AsyncIterator[AsyncSession]:
        yield session

    async def the_caller() -> Identity:
        return who()

    async def the_settings() -> Any:
        return settings(**configured)

    app = FastAPI()
    problems.install(app)
    app.include_router(webhooks_api.router)
    app.dependency_overrides.update(
        {transaction: same_session, rate_limited_caller: the_caller, webhooks_api.webhook_settings: the_settings}
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test/api/v1/webhooks") as c:
        yield c


@pytest_asyncio.fixture
async def tenant(session: AsyncSession) -> uuid.UUID:
    return await new_tenant(session)


@pytest_asyncio.fixture
async def owner_api(session: AsyncSession, tenant: uuid.UUID) -> AsyncIterator[httpx.AsyncClient]:
    owner = caller(tenant, "owner", principal="api_key:owner")
    async with api(session, lambda: owner) as client:
        yield client


async def endpoint_count(session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).select_from(WebhookEndpoint)) or 0


def assert_problem(response: httpx.Response, status: int, slug: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith(f"/{slug}"), response.json()


async def test_an_endpoint_is_created_with_a_secret_shown_once(owner_api: httpx.AsyncClient) -> None:
    created = await owner_api.post("/endpoints", json=ENDPOINT)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["secret"].startswith("whsec_") and body["enabled"] is True
    assert (body["url"], body["event_types"], body["created_by"]) == (
        PUBLIC_URL,
        ENDPOINT["event_types"],
        "api_key:owner",
    )
    assert body["rate_limit_per_second"] == 50 and body["failure_notice"] is None

    shown = (await owner_api.get(f"/endpoints/{body['id']}")).json()
    listed = (await owner_api.get("/endpoints")).json()
    assert "secret" not in shown and [e["id"] for e in listed] == [body["id"]]
    assert not any(body["secret"] in str(value) for value in shown.values())


@pytest.mark.parametrize(
    ("change", "status", "slug"),
    [
        ({"url": "ftp://93.184.216.34/hooks"}, 422, "webhook-target-refused"),
        ({"url": "http://93.184.216.34/hooks"}, 422, "webhook-target-refused"),  # https only
        ({"url": "https://10.1.2.3/hooks"}, 422, "webhook-target-refused"),
        ({"url": "https://169.254.169.254/latest/meta-data"}, 422, "webhook-target-refused"),
        ({"url": "https://user:pw@93.184.216.34/hooks"}, 422, "webhook-target-refused"),
        ({"url": "not a url"}, 422, "webhook-target-refused"),
        ({"event_types": ["member.teleported"]}, 422, "unknown-event-type"),
        ({"event_types": ["member.birthday_set"]}, 422, "unknown-event-type"),  # internal
        ({"event_types": []}, 422, "invalid-input"),
        ({"secret": "whsec_short"}, 422, "malformed-webhook-secret"),
        ({"rate_limit_per_second": 0}, 422, "invalid-input"),
        ({"colour": "red"}, 422, "invalid-input"),
    ],
)
async def test_bad_endpoints_are_refused_and_nothing_is_stored(
    owner_api: httpx.AsyncClient, session: AsyncSession, change: dict[str, Any], status: int, slug: str
) -> None:
    assert_problem(await owner_api.post("/endpoints", json=ENDPOINT | change), status, slug)
    assert await endpoint_count(session) == 0


async def test_private_targets_are_accepted_only_when_the_development_setting_allows(
    session: AsyncSession, tenant: uuid.UUID
) -> None:
    local = ENDPOINT | {"url": "http://127.0.0.1:9/hooks"}
    owner = caller(tenant, "owner")
    async with api(session, lambda: owner) as production:
        assert_problem(await production.post("/endpoints", json=local), 422, "webhook-target-refused")
    async with api(session, lambda: owner, webhook_allow_private_targets=True) as development:
        assert (await development.post("/endpoints", json=local)).status_code == 201


async def test_an_update_checks_the_new_url_and_changes_nothing_when_refused(owner_api: httpx.AsyncClient) -> None:
    endpoint = (await owner_api.post("/endpoints", json=ENDPOINT)).json()
    refused = await owner_api.patch(
        f"/endpoints/{endpoint['id']}", json={"url": "https://192.168.1.10/hooks", "event_types": ["order.paid"]}
    )
    assert_problem(refused, 422, "webhook-target-refused")
    unknown = await owner_api.patch(f"/endpoints/{endpoint['id']}", json={"event_types": ["order.teleported"]})
    assert_problem(unknown, 422, "unknown-event-type")
    shown = (await owner_api.get(f"/endpoints/{endpoint['id']}")).json()
    assert (shown["url"], shown["event_types"]) == (PUBLIC_URL, ENDPOINT["event_types"])

    changed = await owner_api.patch(f"/endpoints/{endpoint['id']}", json={"event_types": ["order.paid"]})
    assert changed.json()["event_types"] == ["order.paid"] and changed.json()["url"] == PUBLIC_URL


async def test_integration_keys_manage_only_their_own_endpoints(session: AsyncSession, tenant: uuid.UUID) -> None:
    partner, other_partner = caller(tenant, "integration"), caller(tenant, "integration")
    owner, operator = caller(tenant, "owner"), caller(tenant, "operator")
    stranger = caller(await new_tenant(session), "owner")
    current = partner
    async with api(session, lambda: current) as client:
        mine = (await client.post("/endpoints", json=ENDPOINT)).json()
        assert mine["created_by"] == partner.principal
        current = other_partner
        theirs = (await client.post("/endpoints", json=ENDPOINT)).json()
        assert [e["id"] for e in (await client.get("/endpoints")).json()] == [theirs["id"]]
        for request in (
            client.get(f"/endpoints/{mine['id']}"),
            client.patch(f"/endpoints/{mine['id']}", json={"description": "taken over"}),
            client.post(f"/endpoints/{mine['id']}/secret/rotate", json={}),
            client.get(f"/endpoints/{mine['id']}/deliveries"),
            client.post(f"/endpoints/{mine['id']}/replay", json={"since": NOW.isoformat()}),
            client.delete(f"/endpoints/{mine['id']}"),
        ):
            assert_problem(await request, 404, "webhook-endpoint-not-found")
        for everyone in (owner, operator):
            current = everyone
            assert {e["id"] for e in (await client.get("/endpoints")).json()} == {mine["id"], theirs["id"]}
        current = stranger
        assert (await client.get("/endpoints")).json() == []
        assert_problem(await client.get(f"/endpoints/{mine['id']}"), 404, "webhook-endpoint-not-found")
        current = partner
        assert (await client.delete(f"/endpoints/{mine['id']}")).status_code == 204
    assert await endpoint_count(session) == 1


async def test_credentials_without_the_permission_are_refused(session: AsyncSession, tenant: uuid.UUID) -> None:
    analyst = caller(tenant, "analyst")
    async with api(session, lambda: analyst) as client:
        assert_problem(await client.get("/endpoints"), 403, "permission-denied")
        assert_problem(await client.post("/endpoints", json=ENDPOINT), 403, "permission-denied")
    assert await endpoint_count(session) == 0


async def test_the_event_types_listed_are_the_public_ones(owner_api: httpx.AsyncClient) -> None:
    listed = {e["type"] for e in (await owner_api.get("/event-types")).json()}
    assert listed == {spec.type for spec in CATALOGUE.values() if spec.public}
    assert "member.birthday_set" not in listed and "merchant.notified" in listed


async def test_a_rotation_returns_the_new_secret_and_shows_the_overlap(owner_api: httpx.AsyncClient) -> None:
    endpoint = (await owner_api.post("/endpoints", json=ENDPOINT)).json()
    rotated = await owner_api.post(f"/endpoints/{endpoint['id']}/secret/rotate", json={"overlap_seconds": 3600})
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_") and rotated.json()["secret"] != endpoint["secret"]
    shown = (await owner_api.get(f"/endpoints/{endpoint['id']}")).json()
    assert shown["previous_secret_expires_at"] == rotated.json()["previous_secret_expires_at"] is not None
    too_long = await owner_api.post(f"/endpoints/{endpoint['id']}/secret/rotate", json={"overlap_seconds": 10**7})
    assert_problem(too_long, 422, "invalid-input")


async def owed(session: AsyncSession, tenant: uuid.UUID, count: int, member_id: uuid.UUID | None = None) -> None:
    await fanout.fan_out(session=session, events=[event(tenant, tagged(member_id)) for _ in range(count)], now=NOW)


async def test_the_delivery_log_pages_filters_and_shows_attempts(
    owner_api: httpx.AsyncClient, session: AsyncSession, tenant: uuid.UUID
) -> None:
    endpoint = (await owner_api.post("/endpoints", json=ENDPOINT)).json()
    await owed(session, tenant, 5)
    stored = await session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
    for index, delivery in enumerate(stored):
        delivery.created_at = NOW + timedelta(seconds=index)
        if index < 2:
            delivery.status, delivery.next_attempt_at, delivery.last_error = DeliveryStatus.FAILED, None, "HTTP 500"
    await session.flush()

    seen, cursor = [], None
    while True:
        page = (
            await owner_api.get(
                f"/endpoints/{endpoint['id']}/deliveries", params={"limit": 2, **({"cursor": cursor} if cursor else {})}
            )
        ).json()
        seen += page["deliveries"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and len({d["id"] for d in seen}) == 5
    assert [d["created_at"] for d in seen] == sorted((d["created_at"] for d in seen), reverse=True)
    failed = (await owner_api.get(f"/endpoints/{endpoint['id']}/deliveries", params={"status": "failed"})).json()
    assert [d["status"] for d in failed["deliveries"]] == ["failed", "failed"]
    assert_problem(
        await owner_api.get(f"/endpoints/{endpoint['id']}/deliveries", params={"status": "lost"}), 422, "invalid-input"
    )
    assert_problem(
        await owner_api.get(f"/endpoints/{endpoint['id']}/deliveries", params={"cursor": "%%%"}), 422, "invalid-input"
    )

    one = (await owner_api.get(f"/endpoints/{endpoint['id']}/deliveries/{seen[0]['id']}")).json()
    assert one["id"].startswith("msg_") and one["payload"]["type"] == "member.tagged" and one["attempt_log"] == []
    for unknown in ("msg_" + uuid.uuid4().hex, "nonsense"):
        missing = await owner_api.get(f"/endpoints/{endpoint['id']}/deliveries/{unknown}")
        assert_problem(missing, 404, "webhook-delivery-not-found")


async def test_replays_make_failed_deliveries_due_again_under_their_webhook_ids(
    owner_api: httpx.AsyncClient, session: AsyncSession, tenant: uuid.UUID
) -> None:
    endpoint = (await owner_api.post("/endpoints", json=ENDPOINT)).json()
    member_id = uuid.uuid4()
    await owed(session, tenant, 3)
    await owed(session, tenant, 1, member_id)
    for delivery in await session.scalars(select(WebhookDelivery)):
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
    await session.flush()
    await fanout.fan_out(session=session, events=[event(tenant, MemberErasedV1(member_id=member_id))], now=NOW)
    session.expire_all()  # the erasure updated rows in bulk, behind this session's copies
    url = f"/endpoints/{endpoint['id']}"

    erased = next(d for d in (await owner_api.get(f"{url}/deliveries")).json()["deliveries"] if d["erased"])
    assert_problem(await owner_api.post(f"{url}/deliveries/{erased['id']}/replay"), 409, "webhook-delivery-erased")

    failed = (await owner_api.get(f"{url}/deliveries", params={"status": "failed"})).json()["deliveries"]
    one = next(d for d in failed if not d["erased"])
    replayed = await owner_api.post(f"{url}/deliveries/{one['id']}/replay")
    assert replayed.status_code == 202 and replayed.json()["id"] == one["id"]
    assert replayed.json()["status"] == "pending"

    window = {"since": (NOW - timedelta(minutes=1)).isoformat(), "until": (NOW + timedelta(minutes=1)).isoformat()}
    ranged = await owner_api.post(f"{url}/replay", json=window)
    assert ranged.status_code == 202 and ranged.json() == {"replayed": 2}  # the other failed ones, not the erased
    by_status = {
        d.status for d in await session.scalars(select(WebhookDelivery).where(WebhookDelivery.body.is_not(None)))
    }
    assert by_status == {DeliveryStatus.PENDING}


@pytest.mark.parametrize(
    "window",
    [
        {"since": NOW.isoformat(), "until": (NOW - timedelta(seconds=1)).isoformat()},
        {"since": NOW.isoformat(), "until": NOW.isoformat()},
        {"since": NOW.isoformat(), "until": (NOW + timedelta(days=8)).isoformat()},
        {"since": "2026-11-23T08:00:00"},  # no time zone
        {"since": "yesterday"},
    ],
)
async def test_bad_replay_ranges_are_refused_and_replay_nothing(
    owner_api: httpx.AsyncClient, session: AsyncSession, tenant: uuid.UUID, window: dict[str, str]
) -> None:
    endpoint = (await owner_api.post("/endpoints", json=ENDPOINT)).json()
    await owed(session, tenant, 1)
    for delivery in await session.scalars(select(WebhookDelivery)):
        delivery.status, delivery.next_attempt_at = DeliveryStatus.FAILED, None
    await session.flush()
    refused = await owner_api.post(f"/endpoints/{endpoint['id']}/replay", json=window)
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert {d.status for d in await session.scalars(select(WebhookDelivery))} == {DeliveryStatus.FAILED}


async def test_a_failing_endpoint_shows_its_notice_and_enabling_it_again_clears_the_streak(
    owner_api: httpx.AsyncClient, session: AsyncSession
) -> None:
    created = (await owner_api.post("/endpoints", json=ENDPOINT)).json()
    endpoint = await session.get(WebhookEndpoint, uuid.UUID(created["id"]))
    assert endpoint is not None
    endpoint.failing_since, endpoint.consecutive_failures, endpoint.last_failure = NOW, 7, "HTTP 503"
    endpoint.failure_notice_at, endpoint.disables_at = NOW + timedelta(days=1), NOW + timedelta(days=3)
    await session.flush()

    notice = (await owner_api.get(f"/endpoints/{created['id']}")).json()["failure_notice"]
    assert notice["consecutive_failures"] == 7 and notice["last_error"] == "HTTP 503"
    assert "will be disabled at 2026-11-26 08:00 UTC" in notice["message"]

    off = (await owner_api.patch(f"/endpoints/{created['id']}", json={"enabled": False})).json()
    assert off["enabled"] is False and off["disabled_reason"] == "Disabled by api_key:owner."
    assert_problem(
        await owner_api.post(f"/endpoints/{created['id']}/replay", json={"since": NOW.isoformat()}),
        409,
        "webhook-endpoint-disabled",
    )
    on = (await owner_api.patch(f"/endpoints/{created['id']}", json={"enabled": True})).json()
    assert on["enabled"] is True and on["disabled_reason"] is None
    assert (on["failing_since"], on["consecutive_failures"], on["failure_notice"]) == (None, 0, None)


async def test_a_deleted_endpoint_takes_its_delivery_log_with_it(
    owner_api: httpx.AsyncClient, session: AsyncSession, tenant: uuid.UUID
) -> None:
    created = (await owner_api.post("/endpoints", json=ENDPOINT)).json()
    await owed(session, tenant, 2)
    endpoint = await session.get(WebhookEndpoint, uuid.UUID(created["id"]))
    assert endpoint is not None and len(await deliveries_of(session, endpoint)) == 2
    assert (await owner_api.delete(f"/endpoints/{created['id']}")).status_code == 204
    assert await session.scalar(select(func.count()).select_from(WebhookDelivery)) == 0
