"""Locks that serialise, across replicas, the work on one tenant's model and on one member's facts.

They are PostgreSQL advisory locks held until the transaction ends, so they lock what has no row yet: a
tenant's first model, a member analytics has not seen. On SQLite, whose single writer already runs
transactions one at a time, there is nothing to take.

Lock order, everywhere: a tenant's model, then members' locks (by key), then member rows (by member id).
"""

import uuid
from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from qunyun_shared import advisory_locks


def _key(*names: str) -> int:
    return advisory_locks.lock_key("analytics-svc", *names)


async def _on_postgresql(session: AsyncSession) -> bool:
    return (await session.connection()).dialect.name == "postgresql"


async def hold_tenant_model(*, session: AsyncSession, tenant_id: str) -> None:
    """Waits for, then holds, the lock of the tenant's model: one refit of a tenant at a time."""
    await advisory_locks.hold(session, [_key("model", tenant_id)])


async def try_hold_tenant_model(*, session: AsyncSession, tenant_id: str) -> bool:
    """Holds the lock of the tenant's model unless another transaction does (then False, at once)."""
    if not await _on_postgresql(session):
        return True
    statement = text("SELECT pg_try_advisory_xact_lock(:key)")
    return bool(await session.scalar(statement, {"key": _key("model", tenant_id)}))


async def hold_members(*, session: AsyncSession, members: Iterable[tuple[str, uuid.UUID]]) -> None:
    """Waits for, then holds, the locks of these (tenant, member) pairs, in key order."""
    await advisory_locks.hold(session, (_key("member", tenant_id, str(member_id)) for tenant_id, member_id in members))
