"""The sold-out gate: attempts on a sale just seen sold out are refused before routing, keys still mean
one response each, and whatever the gate does not handle reaches the app as it was sent."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from campaign_svc.db import IDEMPOTENCY_KEYS
from campaign_svc.flash_sales.schemas import FlashSaleAttempt
from campaign_svc.flash_sales.service import SOLD_OUT, SoldOutMemo
from campaign_svc.flash_sales.sold_out_gate import SoldOutGate
from campaign_svc.models import Base
from qunyun_shared import idempotency, identity
from qunyun_shared.testing import in_memory_database

pytestmark = pytest.mark.unit

SECRET = "a-gate-test-secret-of-thirty-two-bytes-or-more"
TENANT = "tenant-a"


class App:
    """The app behind the gate: answers 299 with the body it received, so a test sees what got through."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.state = SimpleNamespace(
            runtime=SimpleNamespace(identities=identity.IdentityVerifier(SECRET), engine=engine),
            refusals=idempotency.Refusals(engine, IDEMPOTENCY_KEYS),
        )
        self.received: list[bytes] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await Request(scope, receive).body()
        self.received.append(body)
        await JSONResponse({"passed": True}, status_code=299)(scope, receive, send)


@pytest_asyncio.fixture
async def world() -> AsyncIterator[tuple[App, httpx.AsyncClient]]:
    async with in_memory_database(Base.metadata) as engine:
        app = App(engine)
        gate = SoldOutGate(app)

        async def with_app(scope: Scope, receive: Receive, send: Send) -> None:
            scope["app"] = app  # as Starlette sets it before its middleware runs
            await gate(scope, receive, send)

        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=with_app), base_url="http://test") as client:
            yield app, client


def caller(tenant_id: str = TENANT) -> dict[str, str]:
    signed = identity.sign(identity.Identity(tenant_id=tenant_id, principal="test"), SECRET)
    return {identity.IDENTITY_HEADER: signed}


async def attempt(
    client: httpx.AsyncClient, sale: uuid.UUID, key: str | None, body: Any = None, tenant_id: str = TENANT
) -> httpx.Response:
    headers = caller(tenant_id) | ({idempotency.HEADER: key} if key else {})
    content = orjson.dumps(body if body is not None else {"member_id": str(uuid.uuid4())})
    return await client.post(f"/campaigns/{sale}/flash-sale/orders", content=content, headers=headers)


async def keys_held(app: App) -> int:
    async with app.state.runtime.engine.connect() as connection:
        return await connection.scalar(select(func.count()).select_from(IDEMPOTENCY_KEYS)) or 0


async def test_an_attempt_on_a_sale_seen_sold_out_is_refused_and_writes_nothing(
    world: tuple[App, httpx.AsyncClient],
) -> None:
    app, client = world
    sale = uuid.uuid4()
    assert (await attempt(client, sale, "k1")).status_code == 299  # not seen sold out: the app answers
    SOLD_OUT.remember(sale, TENANT)
    refused = await attempt(client, sale, "k2")
    assert (refused.status_code, refused.headers["content-type"]) == (409, "application/problem+json")
    assert refused.json()["type"].endswith("/sold-out") and refused.json()["left"] == 0
    assert len(app.received) == 1 and await keys_held(app) == 0


async def test_a_key_that_bought_before_is_replayed_and_one_used_elsewhere_is_refused(
    world: tuple[App, httpx.AsyncClient],
) -> None:
    app, client = world
    sale = uuid.uuid4()
    path = f"/campaigns/{sale}/flash-sale/orders"
    body = {"member_id": str(uuid.uuid4())}
    bought = idempotency.fingerprint(f"POST {path}", FlashSaleAttempt.model_validate(body))
    async with app.state.runtime.engine.begin() as connection:
        rows = [
            {"key": "bought", "fingerprint": bought, "status_code": 201, "response": {"id": "order-1"}},
            {"key": "elsewhere", "fingerprint": "another request", "status_code": 201, "response": {}},
        ]
        await connection.execute(
            insert(IDEMPOTENCY_KEYS), [{"tenant_id": TENANT, "created_at": datetime.now(UTC), **r} for r in rows]
        )
    SOLD_OUT.remember(sale, TENANT)
    replayed = await attempt(client, sale, "bought", body)
    assert (replayed.status_code, replayed.json()) == (201, {"id": "order-1"})
    assert replayed.headers[idempotency.REPLAYED_HEADER] == "true"
    reused = await attempt(client, sale, "elsewhere", body)
    assert (reused.status_code, reused.json()["type"].rsplit("/", 1)[1]) == (422, "idempotency-key-reused")
    assert app.received == [] and await keys_held(app) == 2


async def test_what_the_gate_does_not_handle_reaches_the_app_unchanged(world: tuple[App, httpx.AsyncClient]) -> None:
    app, client = world
    sale = uuid.uuid4()
    SOLD_OUT.remember(sale, TENANT)
    malformed = orjson.dumps({"member_id": "not-a-uuid"})
    passed = [
        await attempt(client, sale, None),  # no key: the app says 400
        await attempt(client, sale, "k", {"member_id": "not-a-uuid"}),  # the app says 422
        await attempt(client, sale, "k", tenant_id="tenant-b"),  # another tenant's view of the id
        await client.post(f"/campaigns/{sale}/flash-sale/orders", headers={idempotency.HEADER: "k"}),  # no identity
        await client.get(f"/campaigns/{sale}/flash-sale/orders", headers=caller()),
    ]
    assert [r.status_code for r in passed] == [299] * 5
    assert app.received[1] == malformed


def test_after_its_moment_one_attempt_looks_again_while_the_others_are_still_refused() -> None:
    sale = uuid.uuid4()
    memo = SoldOutMemo(seconds=60)
    memo.remember(sale, TENANT)
    assert memo.sold_out(sale, TENANT) and not memo.sold_out(sale, "tenant-b")
    memo = SoldOutMemo(seconds=0)
    memo.remember(sale, TENANT)
    memo.seconds = 60
    assert not memo.sold_out(sale, TENANT)  # this one looks again
    assert memo.sold_out(sale, TENANT)  # the rest wait for what it finds
    memo.forget(sale)  # it found units, or the sale over
    assert not memo.sold_out(sale, TENANT)
