"""Idempotency keys for writes that move money (IETF draft `Idempotency-Key` header).

The key is claimed in the write's own transaction, before the write: a concurrent request with the
same key waits on the claim's unique index until the first commits, then replays its response; if the
first failed and rolled back, the claim went with it and the retry does the write afresh. So a key
yields one effect and one response, and a failed attempt leaves nothing that would block a retry.
"""

import hashlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any

import asyncpg
import orjson
from fastapi import Depends, Request
from pydantic import BaseModel
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.sql.dml import Insert
from starlette.responses import Response

from qunyun_shared.db import UtcDateTime
from qunyun_shared.problems import DomainError, InvalidInput

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255


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
        Column("created_at", UtcDateTime, nullable=False),
    )


async def optional_key(request: Request) -> str | None:
    """The request's `Idempotency-Key`, if it sent one: a write that is safe to retry with it."""
    key = request.headers.get(HEADER, "").strip()
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidInput(f"{HEADER} is longer than {MAX_KEY_LENGTH} characters.", field=HEADER)
    return key or None


async def required_key(key: Annotated[str | None, Depends(optional_key)]) -> str:
    """The request's `Idempotency-Key`; a write that moves money is refused without one."""
    if key is None:
        raise IdempotencyKeyMissing(f"This request moves money: send an {HEADER} header (a UUID is a good choice).")
    return key


IdempotencyKey = Annotated[str, Depends(required_key)]
OptionalIdempotencyKey = Annotated[str | None, Depends(optional_key)]


def fingerprint(operation: str, body: BaseModel | None) -> str:
    """What identifies a request besides its key: the operation (method and path) and the parsed body."""
    payload = body.model_dump(mode="json") if body is not None else None
    return hashlib.sha256(operation.encode() + b"\n" + orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


async def once(
    session: AsyncSession,
    table: Table,
    *,
    tenant_id: str,
    key: str,
    fingerprint: str,
    perform: Callable[[], Awaitable[BaseModel]],
    status_code: int = 201,
) -> Response:
    """Runs `perform` once per (tenant, key) and answers every repeat with the first response."""
    if not await _claim(session, session.get_bind().dialect.name, table, tenant_id, key, fingerprint):
        return await _replay(session, table, tenant_id, key, fingerprint)
    body = (await perform()).model_dump(mode="json")
    await session.execute(
        update(table)
        .where(table.c.tenant_id == tenant_id, table.c.key == key)
        .values(status_code=status_code, response=body)
    )
    return Response(orjson.dumps(body), status_code=status_code, media_type="application/json")


async def request_once(
    request: Request,
    session: AsyncSession,
    table: Table,
    *,
    tenant_id: str,
    key: str,
    body: BaseModel | None,
    perform: Callable[[], Awaitable[BaseModel]],
) -> Response:
    """`once` for an API request: the operation is its method and path, so one key cannot stand for
    two different writes."""
    return await once(
        session,
        table,
        tenant_id=tenant_id,
        key=key,
        fingerprint=fingerprint(f"{request.method} {request.url.path}", body),
        perform=perform,
    )


async def refuse(
    engine: AsyncEngine,
    table: Table,
    *,
    tenant_id: str,
    key: str,
    fingerprint: str,
    refusal: DomainError,
) -> Response:
    """For a request known to be refused, writing nothing: raises `refusal`, as `once` would, unless an
    earlier request holds the key, whose response is replayed. The claim is taken and rolled back, so a
    request in flight with the same key is waited for, exactly as `once` waits for it.

    This is the path of a crowd refused by the thousand, so on PostgreSQL the claim goes straight to the
    driver: through SQLAlchemy it cost more than everything else the refusal does."""
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        if isinstance(driver, asyncpg.Connection):
            claimed = await _claim_on_postgres(driver, table, tenant_id, key, fingerprint)
        else:
            transaction = await connection.begin()
            try:
                claimed = await _claim(connection, engine.dialect.name, table, tenant_id, key, fingerprint)
            finally:
                await transaction.rollback()
        if claimed:
            raise refusal
        return await _replay(connection, table, tenant_id, key, fingerprint)


async def _claim_on_postgres(
    driver: asyncpg.Connection, table: Table, tenant_id: str, key: str, fingerprint: str
) -> bool:
    """`_claim` on the driver's connection, rolled back."""
    transaction = driver.transaction()
    await transaction.start()
    try:
        claimed = await driver.fetchval(
            f"INSERT INTO {table.name} (tenant_id, key, fingerprint, created_at) VALUES ($1, $2, $3, now())"
            " ON CONFLICT DO NOTHING RETURNING true",
            tenant_id,
            key,
            fingerprint,
        )
    finally:
        await transaction.rollback()
    return bool(claimed)


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


async def _replay(
    session: AsyncSession | AsyncConnection, table: Table, tenant_id: str, key: str, fingerprint: str
) -> Response:
    row = (
        await session.execute(
            select(table.c.fingerprint, table.c.status_code, table.c.response).where(
                table.c.tenant_id == tenant_id, table.c.key == key
            )
        )
    ).one()
    if row.fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            f"{HEADER} {key!r} was used for a different request; use a new key for a new request.", field=HEADER
        )
    response: Any = row.response
    return Response(
        orjson.dumps(response),
        status_code=row.status_code,
        media_type="application/json",
        headers={REPLAYED_HEADER: "true"},
    )
