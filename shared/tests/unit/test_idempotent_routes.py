"""The idempotent route class: a write sent again with its `Idempotency-Key` is answered as the first time
and does nothing more; per tenant; a different request with the key is refused; a failed write keeps no key."""

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fastapi import APIRouter, FastAPI, Response, status
from pydantic import BaseModel
from sqlalchemy import Column, Integer, String, Table, func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from qunyun_shared import idempotency, problems
from qunyun_shared.db import new_metadata
from qunyun_shared.dependencies import CurrentIdentity, DbSession, current_identity, transaction
from qunyun_shared.idempotent_routes import read_only, route_class
from qunyun_shared.identity import Identity
from qunyun_shared.problems import Conflict
from qunyun_shared.testing import in_memory_database

pytestmark = pytest.mark.unit

METADATA = new_metadata()
KEYS = idempotency.idempotency_keys_table(METADATA)
JOINS = Table("joins", METADATA, Column("id", Integer, primary_key=True), Column("who", String(40)))


class JoinIn(BaseModel):
    who: str


class JoinOut(BaseModel):
    join_id: int
    who: str
    secret: str


class Full(Conflict):
    slug = "full"


def routes(sealed: bool = False) -> APIRouter:
    router = APIRouter(route_class=route_class(KEYS, sealed=sealed))

    @router.post("/joins", status_code=status.HTTP_201_CREATED)
    async def join(body: JoinIn, session: DbSession, response: Response) -> JoinOut:
        if body.who == "nobody":
            raise Full("no seat left")
        join_id = (await session.execute(JOINS.insert().values(who=body.who))).inserted_primary_key[0]
        if body.who.startswith("wait"):
            response.status_code = status.HTTP_202_ACCEPTED
        return JoinOut(join_id=join_id, who=body.who, secret=uuid.uuid4().hex)

    @router.delete("/joins/{join_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def leave(join_id: int, session: DbSession) -> None:
        await session.execute(JOINS.delete().where(JOINS.c.id == join_id))

    @router.post("/money", status_code=status.HTTP_201_CREATED, dependencies=[idempotency.KEY_REQUIRED])
    async def move_money(session: DbSession, caller: CurrentIdentity) -> dict[str, str]:
        return {"moved_for": caller.tenant_id}

    @router.post("/lookups")
    @read_only
    async def look_up(body: JoinIn) -> JoinIn:
        return body

    return router


class Clients:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.tenant = "tenant-a"

    async def count(self, table: Table) -> int:
        async with self.engine.connect() as connection:
            return await connection.scalar(select(func.count()).select_from(table)) or 0

    async def joins(self) -> int:
        return await self.count(JOINS)

    def client(self, router: APIRouter) -> httpx.AsyncClient:
        """The routes in an app of their own, each request in a transaction of its own as in a service."""

        async def request_transaction() -> AsyncIterator[AsyncSession]:
            async with AsyncSession(self.engine) as session, session.begin():
                yield session

        async def caller() -> Identity:
            return Identity(tenant_id=self.tenant, principal="op", roles=("owner",))

        app = FastAPI()
        problems.install(app)
        app.include_router(router)
        app.dependency_overrides.update({transaction: request_transaction, current_identity: caller})
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


@pytest_asyncio.fixture
async def world() -> AsyncIterator[tuple[Clients, httpx.AsyncClient, httpx.AsyncClient]]:
    async with in_memory_database(METADATA) as engine:
        clients = Clients(engine)
        async with clients.client(routes()) as plain, clients.client(routes(sealed=True)) as sealed:
            yield clients, plain, sealed


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


async def test_a_write_sent_again_with_its_key_is_answered_as_the_first_time_and_done_once(world) -> None:  # type: ignore[no-untyped-def]
    clients, client, _ = world
    first = await client.post("/joins", json={"who": "ann"}, headers=keyed("k-1"))
    again = await client.post("/joins", json={"who": "ann"}, headers=keyed("k-1"))
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await clients.joins() == 1
    # Without a key, or with another, it is another request.
    await client.post("/joins", json={"who": "ann"})
    other = await client.post("/joins", json={"who": "ann"}, headers=keyed("k-2"))
    assert other.json()["join_id"] != first.json()["join_id"] and await clients.joins() == 3


async def test_the_key_is_the_tenants_own(world) -> None:  # type: ignore[no-untyped-def]
    clients, client, _ = world
    mine = await client.post("/joins", json={"who": "ann"}, headers=keyed("shared"))
    clients.tenant = "tenant-b"
    theirs = await client.post("/joins", json={"who": "ann"}, headers=keyed("shared"))
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs.headers
    assert theirs.json()["join_id"] != mine.json()["join_id"]


async def test_the_key_of_another_request_is_refused(world) -> None:  # type: ignore[no-untyped-def]
    _, client, _ = world
    await client.post("/joins", json={"who": "ann"}, headers=keyed("k"))
    other_body = await client.post("/joins", json={"who": "bob"}, headers=keyed("k"))
    other_route = await client.delete("/joins/1", headers=keyed("k"))
    for refused in (other_body, other_route):
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"].endswith("/idempotency-key-reused")


async def test_the_status_a_route_sets_and_an_empty_answer_are_replayed(world) -> None:  # type: ignore[no-untyped-def]
    clients, client, _ = world
    waiting = [await client.post("/joins", json={"who": "wait-1"}, headers=keyed("w")) for _ in range(2)]
    assert [answer.status_code for answer in waiting] == [202, 202] and waiting[0].json() == waiting[1].json()
    join_id = waiting[0].json()["join_id"]
    left = [await client.delete(f"/joins/{join_id}", headers=keyed("leave")) for _ in range(2)]
    assert [answer.status_code for answer in left] == [204, 204] and left[1].content == b""
    assert await clients.joins() == 0


async def test_a_refused_write_keeps_no_key_so_its_retry_is_tried_afresh(world) -> None:  # type: ignore[no-untyped-def]
    clients, client, _ = world
    refused = await client.post("/joins", json={"who": "nobody"}, headers=keyed("r"))
    assert refused.status_code == 409
    assert await clients.count(KEYS) == 0


async def test_a_write_that_moves_money_requires_a_key(world) -> None:  # type: ignore[no-untyped-def]
    _, client, _ = world
    refused = await client.post("/money")
    assert refused.status_code == 400 and refused.json()["type"].endswith("/idempotency-key-missing")
    assert (await client.post("/money", headers=keyed("m"))).json() == {"moved_for": "tenant-a"}
    too_long = await client.post("/money", headers=keyed("x" * (idempotency.MAX_KEY_LENGTH + 1)))
    assert too_long.status_code == 422


async def test_a_read_sent_as_a_post_keeps_nothing(world) -> None:  # type: ignore[no-untyped-def]
    clients, client, _ = world
    assert (await client.post("/lookups", json={"who": "ann"}, headers=keyed("l"))).json() == {"who": "ann"}
    assert await clients.count(KEYS) == 0


async def test_sealed_answers_are_replayed_but_the_table_holds_neither_key_nor_secret(world) -> None:  # type: ignore[no-untyped-def]
    clients, _, client = world
    key = str(uuid.uuid4())
    first = await client.post("/joins", json={"who": "ann"}, headers=keyed(key))
    again = await client.post("/joins", json={"who": "ann"}, headers=keyed(key))
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert await clients.joins() == 1
    async with clients.engine.connect() as connection:
        stored = (await connection.execute(select(KEYS))).one()
    assert key not in stored.key and first.json()["secret"] not in str(stored.response)


def test_every_write_documents_the_header() -> None:
    app = FastAPI()
    app.include_router(routes())
    paths = app.openapi()["paths"]
    for path, method in [("/joins", "post"), ("/joins/{join_id}", "delete"), ("/money", "post")]:
        headers = [p for p in paths[path][method]["parameters"] if p["in"] == "header"]
        assert [p["name"] for p in headers] == ["Idempotency-Key"], (method, path)
    assert "parameters" not in paths["/lookups"]["post"]
