"""Locks that serialise, across replicas, the work on one tenant's model and on one member's facts.

They are PostgreSQL advisory locks held until the transaction ends, so they lock what has no row yet: a
tenant's first model, a member analytics has not seen. On SQLite, whose single writer already runs
transactions one at a time, there is nothing to take.

Lock order, everywhere: a tenant's model, then members' locks (by key), then member rows (by member id).
"""

import hashlib
import uuid
from collections.abc import Iterable

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, BIGINT
from sqlalchemy.ext.asyncio import AsyncSession

_HOLD_EACH = text("SELECT pg_advisory_xact_lock(key) FROM unnest(:keys) AS key").bindparams(
    bindparam("keys", type_=ARRAY(BIGINT))
)


def _key(*names: str) -> int:
    """A lock's 64-bit key, from names stable across processes (Python's hash() is not)."""
    digest = hashlib.blake2b("\x1f".join(("analytics-svc", *names)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def _on_postgresql(session: AsyncSession) -> bool:
    return (await session.connection()).dialect.name == "postgresql"


async def hold_tenant_model(*, session: AsyncSession, tenant_id: str) -> None:
    """Waits for, then holds, the lock of the tenant's model: one refit of a tenant at a time."""
    if await _on_postgresql(session):
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _key("model", tenant_id)})


async def try_hold_tenant_model(*, session: AsyncSession, tenant_id: str) -> bool:
    """Holds the lock of the tenant's model unless another transaction does (then False, at once)."""
    if not await _on_postgresql(session):
        return True
    statement = text("SELECT pg_try_advisory_xact_lock(:key)")
    return bool(await session.scalar(statement, {"key": _key("model", tenant_id)}))


async def hold_members(*, session: AsyncSession, members: Iterable[tuple[str, uuid.UUID]]) -> None:
    """Waits for, then holds, the locks of these (tenant, member) pairs, taken in key order so that two
    transactions wanting some of the same members cannot each wait for the other."""
    keys = sorted({_key("member", tenant_id, str(member_id)) for tenant_id, member_id in members})
    if keys and await _on_postgresql(session):
        # unnest yields the keys in the array's order, and each row's lock is taken as it is produced.
        await session.execute(_HOLD_EACH, {"keys": keys})
