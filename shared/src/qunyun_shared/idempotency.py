"""Idempotency keys for writes (IETF draft `Idempotency-Key` header): every state-changing route takes one
(`qunyun_shared.idempotent_routes`), and writes that move money require it.

The key is claimed in the write's own transaction, before the write: a concurrent request with the
same key waits on the claim's unique index until the first commits, then replays its response; if the
first failed and rolled back, the claim went with it and the retry does the write afresh. So a key
yields one effect and one response, and a failed attempt leaves nothing that would block a retry.
"""

import asyncio
import base64
import hashlib
import os
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Annotated, Any

import asyncpg
import orjson
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from fastapi import Depends, Header
from pydantic import BaseModel
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, bindparam, cast, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.sql.dml import Insert, Update
from starlette.responses import Response

from qunyun_shared.db import UtcDateTime
from qunyun_shared.problem_responses import answers
from qunyun_shared.problems import DomainError, InvalidInput
from qunyun_shared.retention import pruning
from qunyun_shared.runtime import Sweep

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# How long a key answers its repeats with the first response; a request repeated later is a new request.
KEY_LIFETIME = timedelta(hours=24)


class IdempotencyKeyMissing(DomainError):
    status, slug, title = 400, "idempotency-key-missing", "Idempotency-Key required"


class IdempotencyKeyReused(InvalidInput):
    slug, title = "idempotency-key-reused", "Idempotency-Key used for another request"


def idempotency_keys_table(metadata: MetaData) -> Table:
    """Declares `idempotency_keys` on a service's metadata."""
    return Table(
        "idempotency_keys",
        metadata,
        Column("tenant_id", String(64), primary_key=True),
        Column("key", String(MAX_KEY_LENGTH), primary_key=True),
        Column("fingerprint", String(64), nullable=False),
        Column("status_code", Integer),
        Column("response", JSON),
        Column("created_at", UtcDateTime, nullable=False, index=True),
    )


async def forget_answers_naming(session: AsyncSession, table: Table, *, tenant_id: str, member_id: uuid.UUID) -> None:
    """Deletes the remembered answers that name a member (erasure): a replay afterwards writes afresh."""
    await session.execute(
        delete(table).where(table.c.tenant_id == tenant_id, cast(table.c.response, String).contains(str(member_id)))
    )


def expiry_sweep(table: Table) -> Sweep:
    """A `run_sweep` batch forgetting keys older than KEY_LIFETIME."""
    return pruning(table, table.c.created_at, KEY_LIFETIME)


async def optional_key(
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=HEADER,
            max_length=MAX_KEY_LENGTH,
            description="A key of your choosing (a UUID) for this one request: a repeat with the same key "
            "within 24 hours is answered with the first outcome instead of writing again.",
        ),
    ] = None,
) -> str | None:
    """The request's `Idempotency-Key`, if it sent one: a write that is safe to retry with it."""
    key = (idempotency_key or "").strip()
    return key or None


def _refuse_too_long(key: str) -> None:
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"{HEADER} is longer than {MAX_KEY_LENGTH} characters.", field=HEADER)


@answers(400)
async def required_key(key: Annotated[str | None, Depends(optional_key)]) -> str:
    """The request's `Idempotency-Key`; a write that moves money is refused without one."""
    if key is None:
        raise IdempotencyKeyMissing(f"This request moves money: send an {HEADER} header (a UUID is a good choice).")
    return key


OptionalIdempotencyKey = Annotated[str | None, Depends(optional_key)]
IdempotencyKey = Annotated[str, Depends(required_key)]
# On a route that moves money: `@router.post(..., dependencies=[KEY_REQUIRED])`.
KEY_REQUIRED = Depends(required_key)


def fingerprint(operation: str, body: BaseModel | bytes | None) -> str:
    """What identifies a request besides its key: the operation (method and path) and the body, parsed
    when the route parses it (so a retry serialising it differently is the same request)."""
    payload: Any = None  # no body, as an empty one
    if isinstance(body, BaseModel):
        payload = body.model_dump(mode="json")
    elif body:
        payload = hashlib.sha256(body).hexdigest()
    return hashlib.sha256(operation.encode() + b"\n" + orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


@dataclass(frozen=True)
class Answer:
    """What a write answered: its status and JSON body (None when the status has none)."""

    status_code: int
    body: Any

    def response(self, headers: dict[str, str] | None = None) -> Response:
        if self.body is None and self.status_code in (204, 304):
            return Response(status_code=self.status_code, headers=headers)
        return Response(orjson.dumps(self.body), self.status_code, headers, media_type="application/json")


async def once(
    session: AsyncSession,
    table: Table,
    *,
    tenant_id: str,
    key: str,
    fingerprint: str,
    perform: Callable[[], Awaitable[Answer]],
    sealed: bool = False,
) -> Response:
    """Runs `perform` once per (tenant, key) and answers every repeat with the first answer; the answer is
    remembered in the session's transaction, so it commits with the write or not at all.

    `sealed` is for answers holding secrets (an API key shown once): the key is kept as a digest and the
    answer encrypted with a key derived from the client's key, so the table alone gives away neither."""
    dialect = session.get_bind().dialect.name
    kept_key = _digest(key) if sealed else key
    while not await _claim(session, dialect, table, tenant_id, kept_key, fingerprint):
        stored = await _stored(session, table, tenant_id, kept_key)
        if stored is not None:
            return _replayed(stored, key, fingerprint, tenant_id if sealed else None)
        # The key expired between the claim and the look-up (expiry_sweep): it is free again.
    answer = await perform()
    body = _sealed(answer.body, key, tenant_id) if sealed else answer.body
    remembered = {"tenant": tenant_id, "claimed_key": kept_key, "status": answer.status_code, "body": body}
    await session.execute(_answer_statement(table), remembered)
    return answer.response()


def _digest(key: str) -> str:
    return hashlib.sha256(b"qunyun idempotency key\n" + key.encode()).hexdigest()


def _cipher(key: str) -> AESGCM:
    return AESGCM(hashlib.sha256(b"qunyun idempotency seal\n" + key.encode()).digest())


def _sealed(body: Any, key: str, tenant_id: str) -> dict[str, str]:
    nonce = os.urandom(12)
    sealed = nonce + _cipher(key).encrypt(nonce, orjson.dumps(body), tenant_id.encode())
    return {"sealed": base64.b64encode(sealed).decode()}


def _unsealed(stored: Any, key: str, tenant_id: str) -> Any:
    sealed = base64.b64decode(stored["sealed"])
    return orjson.loads(_cipher(key).decrypt(sealed[:12], sealed[12:], tenant_id.encode()))


class Refusals:
    """Answers requests known to be refused, writing nothing, exactly as `once` would: the refusal is
    raised unless an earlier request holds the key, whose response is replayed. Each key is claimed and
    the claim rolled back, so a request in flight with the same key is waited for, as `once` waits for it.

    This is the path of a crowd refused by the thousand (a sold-out flash sale), so the refusals that
    arrive while one batch is at the database go together in the next: a batch costs one claim statement
    and its transaction, on PostgreSQL straight on the driver. A batch waits as long as the slowest
    request in flight with one of its keys.
    """

    def __init__(self, engine: AsyncEngine, table: Table) -> None:
        self.engine = engine
        self.table = table
        self._waiting: list[_Refusal] = []
        self._answering: asyncio.Task[None] | None = None

    async def refuse(self, *, tenant_id: str, key: str, fingerprint: str, refusal: DomainError) -> Response:
        """Raises `refusal`, or replays the response of the earlier request with `key`."""
        _refuse_too_long(key)  # here rather than at the database, where it would fail the whole batch
        waiting = _Refusal(tenant_id, key, fingerprint, asyncio.get_running_loop().create_future())
        self._waiting.append(waiting)
        if self._answering is None:
            self._answering = asyncio.create_task(self._answer_all())
        earlier = await waiting.earlier
        if earlier is None:
            raise refusal
        return _replayed(earlier, key, fingerprint)

    async def _answer_all(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                await self._answer(batch)
        except asyncio.CancelledError:
            for waiting in self._waiting:
                waiting.earlier.cancel()
            raise
        finally:
            self._answering = None

    async def _answer(self, batch: list["_Refusal"]) -> None:
        try:
            earlier = await self._look_up({(r.tenant_id, r.key): r.fingerprint for r in batch})
        except asyncio.CancelledError:
            for waiting in batch:
                waiting.earlier.cancel()
            raise
        except Exception as exc:
            if len(batch) == 1:
                batch[0].fail(exc)
                return
            for waiting in batch:  # so that a request the database rejects fails alone
                await self._answer([waiting])
            return
        for waiting in batch:
            waiting.settle(earlier.get((waiting.tenant_id, waiting.key)))

    async def _look_up(self, claims: dict[tuple[str, str], str]) -> dict[tuple[str, str], "_Stored"]:
        """The stored responses of the keys that another request holds; the others are claimed and
        let go."""
        async with self.engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            if isinstance(driver, asyncpg.Connection):
                return await _look_up_on_postgres(driver, self.table, claims)
            transaction = await connection.begin()
            try:
                held = [
                    (tenant_id, key)
                    for (tenant_id, key), fingerprint in claims.items()
                    if not await _claim(connection, self.engine.dialect.name, self.table, tenant_id, key, fingerprint)
                ]
                found = {held_key: await _stored(connection, self.table, *held_key) for held_key in held}
                return {held_key: stored for held_key, stored in found.items() if stored is not None}
            finally:
                await transaction.rollback()


@dataclass(frozen=True)
class _Refusal:
    """A request waiting for its batch: `earlier` is what holds its key, None if nothing does."""

    tenant_id: str
    key: str
    fingerprint: str
    earlier: "asyncio.Future[_Stored | None]"

    # A request may have gone away meanwhile, its future cancelled with it.
    def settle(self, earlier: "_Stored | None") -> None:
        if not self.earlier.done():
            self.earlier.set_result(earlier)

    def fail(self, exc: Exception) -> None:
        if not self.earlier.done():
            self.earlier.set_exception(exc)


@dataclass(frozen=True)
class _Stored:
    """What the request that holds a key was answered."""

    fingerprint: str
    status_code: int
    response: Any


async def _look_up_on_postgres(
    driver: asyncpg.Connection, table: Table, claims: dict[tuple[str, str], str]
) -> dict[tuple[str, str], _Stored]:
    """`Refusals._look_up` on the driver's connection: one INSERT for the whole batch, rolled back."""
    tenants, keys = [t for t, _ in claims], [k for _, k in claims]
    transaction = driver.transaction()
    await transaction.start()
    try:
        claimed = await driver.fetch(
            f"INSERT INTO {table.name} (tenant_id, key, fingerprint, created_at)"
            " SELECT *, now() FROM unnest($1::text[], $2::text[], $3::text[])"
            " ON CONFLICT DO NOTHING RETURNING tenant_id, key",
            tenants,
            keys,
            list(claims.values()),
        )
        if len(claimed) == len(claims):
            return {}
        # A new statement sees what the requests it waited for committed.
        rows = await driver.fetch(
            f"SELECT tenant_id, key, fingerprint, status_code, response::text FROM {table.name}"
            " WHERE (tenant_id, key) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
            tenants,
            keys,
        )
    finally:
        await transaction.rollback()
    claimed_keys = {(row[0], row[1]) for row in claimed}
    return {
        (row[0], row[1]): _Stored(row[2], row[3], orjson.loads(row[4]) if row[4] is not None else None)
        for row in rows
        if (row[0], row[1]) not in claimed_keys
    }


async def _claim(
    executor: AsyncSession | AsyncConnection, dialect: str, table: Table, tenant_id: str, key: str, fingerprint: str
) -> bool:
    """Claims the key in the executor's transaction; False if another request holds it."""
    values = {"tenant_id": tenant_id, "key": key, "fingerprint": fingerprint, "created_at": datetime.now(UTC)}
    return (await executor.execute(_claim_statement(dialect, table), values)).first() is not None


@cache
def _claim_statement(dialect: str, table: Table) -> Insert:
    # Built once: building an INSERT ... ON CONFLICT per request cost more than running it.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing().returning(table.c.key)


@cache
def _answer_statement(table: Table) -> Update:
    # Built once, as the claim is: it runs on every write that moves money.
    return (
        update(table)
        .where(table.c.tenant_id == bindparam("tenant"), table.c.key == bindparam("claimed_key"))
        .values(status_code=bindparam("status"), response=bindparam("body", type_=table.c.response.type))
    )


async def _stored(session: AsyncSession | AsyncConnection, table: Table, tenant_id: str, key: str) -> _Stored | None:
    """What the request holding the key was answered; None if the key is gone (expired) meanwhile."""
    row = (
        await session.execute(
            select(table.c.fingerprint, table.c.status_code, table.c.response).where(
                table.c.tenant_id == tenant_id, table.c.key == key
            )
        )
    ).one_or_none()
    return _Stored(row.fingerprint, row.status_code, row.response) if row is not None else None


def _replayed(stored: _Stored, key: str, fingerprint: str, sealed_for: str | None = None) -> Response:
    """The stored answer; `sealed_for` is the tenant whose sealed answer it is."""
    if stored.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            f"{HEADER} {key!r} was used for a different request; use a new key for a new request.", field=HEADER
        )
    body = _unsealed(stored.response, key, sealed_for) if sealed_for is not None else stored.response
    return Answer(stored.status_code, body).response({REPLAYED_HEADER: "true"})
