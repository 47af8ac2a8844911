"""Idempotency keys on real PostgreSQL: `once` runs a write once per key, and `refuse` answers a request
that writes nothing exactly as `once` would, waiting for a request in flight with the same key."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import cast

import asyncpg
import orjson
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from qunyun_shared import idempotency
from qunyun_shared.db import new_metadata
from qunyun_shared.outbox import Outbox
from qunyun_shared.problems import Conflict, DomainError
from qunyun_shared.testing import wait_until
from tests.support.harness import scratch_database, waiting_on_locks

pytestmark = pytest.mark.integration

METADATA = new_metadata()
KEYS = idempotency.idempotency_keys_table(METADATA)
TENANT = "tenant-a"


def bought(order_id: str) -> idempotency.Answer:
    return idempotency.Answer(201, {"order_id": order_id})


class SoldOut(Conflict):
    slug = "sold-out"


@pytest_asyncio.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    async with scratch_database(METADATA) as engine:
        yield engine


async def refuse(
    engine: AsyncEngine, key: str, fingerprint: str = "buy", refusals: idempotency.Refusals | None = None
) -> tuple[int, object]:
    refusals = refusals or idempotency.Refusals(engine, KEYS)
    try:
        response = await refusals.refuse(
            tenant_id=TENANT, key=key, fingerprint=fingerprint, refusal=SoldOut("none left")
        )
    except DomainError as refused:
        return refused.status, refused.slug
    return response.status_code, orjson.loads(bytes(response.body))


async def keys_held(engine: AsyncEngine) -> int:
    async with engine.connect() as connection:
        return await connection.scalar(select(func.count()).select_from(KEYS)) or 0


async def test_a_refusal_writes_nothing_and_an_earlier_answer_is_replayed(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session, session.begin():

        async def buy() -> idempotency.Answer:
            return bought("o-1")

        await idempotency.once(session, KEYS, tenant_id=TENANT, key="bought", fingerprint="buy", perform=buy)
    assert await refuse(engine, "fresh") == (409, "sold-out")
    assert await refuse(engine, "bought") == (201, {"order_id": "o-1"})
    assert await refuse(engine, "bought", fingerprint="another request") == (422, "idempotency-key-reused")
    assert await keys_held(engine) == 1


async def test_refusals_arriving_together_are_each_answered_as_if_alone(engine: AsyncEngine) -> None:
    async with AsyncSession(engine) as session, session.begin():

        async def buy() -> idempotency.Answer:
            return bought("o-3")

        await idempotency.once(session, KEYS, tenant_id=TENANT, key="bought", fingerprint="buy", perform=buy)
    refusals = idempotency.Refusals(engine, KEYS)
    answers = await asyncio.gather(
        refuse(engine, "fresh", refusals=refusals),
        refuse(engine, "fresh", fingerprint="the same key twice at once", refusals=refusals),
        refuse(engine, "bought", refusals=refusals),
        refuse(engine, "bought", fingerprint="another request", refusals=refusals),
        refuse(engine, "no\x00nul in text", refusals=refusals),
        return_exceptions=True,
    )
    assert answers[:4] == [
        (409, "sold-out"),
        (409, "sold-out"),
        (201, {"order_id": "o-3"}),
        (422, "idempotency-key-reused"),
    ]
    assert isinstance(answers[4], asyncpg.DataError)  # the database's refusal of one request fails it alone
    assert await keys_held(engine) == 1


async def test_a_refusal_waits_for_a_request_in_flight_with_its_key(engine: AsyncEngine) -> None:
    holding, release = asyncio.Event(), asyncio.Event()

    async def first_request() -> None:
        async with AsyncSession(engine) as session, session.begin():

            async def buy() -> idempotency.Answer:
                holding.set()
                await release.wait()  # the claim is taken, not yet committed
                return bought("o-2")

            await idempotency.once(session, KEYS, tenant_id=TENANT, key="racing", fingerprint="buy", perform=buy)

    first = asyncio.create_task(first_request())
    await holding.wait()
    retry = asyncio.create_task(refuse(engine, "racing"))
    await wait_until(lambda: waiting_on_locks(engine), what="the retry blocked on the first request's claim")
    assert not retry.done()
    release.set()
    await first
    assert await retry == (201, {"order_id": "o-2"})


async def test_a_key_answers_its_repeats_for_a_day_then_is_forgotten(engine: AsyncEngine) -> None:
    orders = iter(["o-1", "o-2"])

    async def buy_once_with(key: str) -> object:
        async def buy() -> idempotency.Answer:
            return bought(next(orders))

        async with AsyncSession(engine) as session, session.begin():
            response = await idempotency.once(session, KEYS, tenant_id=TENANT, key=key, fingerprint="buy", perform=buy)
        return orjson.loads(bytes(response.body))

    async def sweep(at: datetime) -> int:
        async with AsyncSession(engine) as session, session.begin():
            return await idempotency.expiry_sweep(KEYS)(session, cast(Outbox, None), at)

    assert await buy_once_with("k") == {"order_id": "o-1"}
    bought_at = datetime.now(UTC)
    assert await sweep(bought_at + idempotency.KEY_LIFETIME - timedelta(minutes=1)) == 0
    assert await buy_once_with("k") == {"order_id": "o-1"}
    assert await sweep(bought_at + idempotency.KEY_LIFETIME + timedelta(minutes=1)) == 1
    assert await buy_once_with("k") == {"order_id": "o-2"}


async def test_a_key_expiring_between_its_claim_and_its_look_up_is_claimed_again(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with AsyncSession(engine) as session, session.begin():
        await session.execute(
            KEYS.insert().values(tenant_id=TENANT, key="k", fingerprint="buy", created_at=datetime.now(UTC))
        )
    claim = idempotency._claim

    async def claim_then_expire(*args: object) -> bool:
        claimed = await claim(*args)  # type: ignore[arg-type]
        if not claimed:  # the sweep commits right after the claim found the key held
            async with engine.begin() as connection:
                await connection.execute(KEYS.delete())
        return claimed

    monkeypatch.setattr(idempotency, "_claim", claim_then_expire)

    async def buy() -> idempotency.Answer:
        return bought("o-1")

    async with AsyncSession(engine) as session, session.begin():
        response = await idempotency.once(session, KEYS, tenant_id=TENANT, key="k", fingerprint="buy", perform=buy)
    assert (response.status_code, orjson.loads(bytes(response.body))) == (201, {"order_id": "o-1"})
    assert await keys_held(engine) == 1
