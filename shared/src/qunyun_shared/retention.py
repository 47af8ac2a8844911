"""Pruning of rows kept only for a while (delivery logs, idempotency keys), a batch at a time beside the
traffic: a sweep for `ServiceRuntime.run_sweep`."""

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Table, delete, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from qunyun_shared.outbox import Outbox
from qunyun_shared.runtime import Sweep


def pruning(
    table: Table,
    stamp: ColumnElement[datetime],
    kept_for: timedelta,
    *,
    settled: ColumnElement[bool] | None = None,
    batch: int = 5_000,
) -> Sweep:
    """A sweep deleting the rows of `table` whose `stamp` is older than `kept_for` (and that are `settled`,
    when given), `batch` at a time. Rows another transaction holds are left for the next sweep."""
    key = list(table.primary_key.columns)

    async def prune(session: AsyncSession, _outbox: Outbox, now: datetime) -> int:
        due = (
            select(*key)
            .where(stamp < now - kept_for, settled if settled is not None else true())
            .limit(batch)
            .with_for_update(skip_locked=True)
        )
        result = await session.execute(delete(table).where(tuple_(*key).in_(due)))
        return int(result.rowcount)  # type: ignore[attr-defined]

    return prune
