"""Refits asked for through the API, run in the background by whichever replica gets to them first.

A worker claims the oldest queued job, or a running one whose worker stopped holding it (its lease ran out:
the process died or was stopped), in a transaction of its own, so that a poll sees the job running. It then
refits the tenant's model (segments.recompute, which waits for the tenant's model lock: one refit of a
tenant at a time) and records the model fitted in the refit's own transaction, so the job says succeeded
only if the refit committed. A worker that stops midway leaves its refit rolled back and the job to be
claimed again once its lease runs out; one that outlives its lease (another took the job over) records
nothing. While a refit runs its worker renews the lease, on PostgreSQL: on SQLite the refit's transaction
holds the database's one writer, and the one process using it claims nothing meanwhile.
"""

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from analytics_svc.scoring import segments
from analytics_svc.scoring.models import UNFINISHED, RefitJob, TenantModel
from analytics_svc.scoring.schemas import TenantModelRead
from qunyun_shared import retention
from qunyun_shared.outbox import Outbox
from qunyun_shared.runtime import Sweep

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
# A finished refit stays to be polled this long (its result is the model then, not the current one).
KEPT_FOR = timedelta(days=30)
# A job whose workers all stopped before finishing (a refit that kills its process?) is given up on.
MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class Claim:
    """A worker's hold on a job: its writes count only while the job's attempts are still this one."""

    job_id: uuid.UUID
    tenant_id: str
    attempt: int


class _TakenOver(Exception):
    """Another worker claimed the job while this one refitted: nothing of this one's must commit."""


async def claim_next(*, session: AsyncSession, now: datetime, lease: timedelta = LEASE) -> Claim | None:
    """Takes the oldest job waiting for a worker, if any: queued, or running under a lease that ran out."""
    while True:
        job = await session.scalar(
            select(RefitJob)
            .where(RefitJob.status.in_(UNFINISHED), or_(RefitJob.lease_until.is_(None), RefitJob.lease_until < now))
            .order_by(RefitJob.created_at)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if job is None:
            return None
        if job.attempts < MAX_ATTEMPTS:
            job.status, job.lease_until, job.attempts = "running", now + lease, job.attempts + 1
            job.started_at = job.started_at or now
            await session.flush()
            return Claim(job.id, job.tenant_id, job.attempts)
        job.status, job.finished_at, job.lease_until = "failed", now, None
        job.error = f"Given up after {job.attempts} attempts, each stopped before it finished."
        await session.flush()


async def finish(*, session: AsyncSession, outbox: Outbox, claim: Claim, now: datetime) -> bool:
    """Refits the claimed job's tenant and records the model fitted as its result, in the session's
    transaction; False if another worker has taken the job over meanwhile (then nothing must commit)."""
    await segments.recompute(session=session, outbox=outbox, tenant_id=claim.tenant_id, now=now)
    model = await session.get(TenantModel, claim.tenant_id, populate_existing=True)
    assert model is not None  # the refit has just stored it
    result = TenantModelRead.of(model).model_dump(mode="json")
    return await _record(session, claim, status="succeeded", finished_at=datetime.now(UTC), result=result)


async def fail(*, session: AsyncSession, claim: Claim, error: str, now: datetime) -> bool:
    """Records why the claimed job failed, unless another worker has taken it over."""
    return await _record(session, claim, status="failed", finished_at=now, error=error[:500])


async def renew(*, session: AsyncSession, claim: Claim, now: datetime, lease: timedelta = LEASE) -> bool:
    """Extends the worker's hold on the job; False if it is no longer the worker's."""
    return await _record(session, claim, lease_until=now + lease)


async def _record(session: AsyncSession, claim: Claim, **values: Any) -> bool:
    if "status" in values:
        values["lease_until"] = None
    written = await session.execute(
        update(RefitJob)
        .where(RefitJob.id == claim.job_id, RefitJob.attempts == claim.attempt, RefitJob.status == "running")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(written.rowcount)  # type: ignore[attr-defined]


async def run_next(*, sessionmaker: async_sessionmaker[AsyncSession], outbox: Outbox, lease: timedelta = LEASE) -> bool:
    """Claims the next job and runs it to its end, if one is waiting; whether one was."""
    async with sessionmaker() as session, session.begin():
        claim = await claim_next(session=session, now=datetime.now(UTC), lease=lease)
        renewing = session.get_bind().dialect.name == "postgresql"
    if claim is None:
        return False
    keeping = asyncio.create_task(_keep(sessionmaker, claim, lease)) if renewing else None
    try:
        await _refit(sessionmaker, outbox, claim)
    except _TakenOver:
        log.warning("refit taken over by another worker", extra={"refit_id": str(claim.job_id)})
    except Exception as exc:  # the refit's failure is the job's to report; the worker goes on
        log.exception("refit failed", extra={"refit_id": str(claim.job_id), "tenant": claim.tenant_id})
        async with sessionmaker() as session, session.begin():
            await fail(session=session, claim=claim, error=f"{type(exc).__name__}: {exc}", now=datetime.now(UTC))
    finally:
        if keeping is not None:
            keeping.cancel()
            await asyncio.gather(keeping, return_exceptions=True)
    return True


async def _refit(sessionmaker: async_sessionmaker[AsyncSession], outbox: Outbox, claim: Claim) -> None:
    async with sessionmaker() as session:
        async with session.begin():
            if not await finish(session=session, outbox=outbox, claim=claim, now=datetime.now(UTC)):
                raise _TakenOver
        if session.info.get("outbox_written"):
            outbox.committed()


async def _keep(sessionmaker: async_sessionmaker[AsyncSession], claim: Claim, lease: timedelta) -> None:
    """Renews the lease every third of it while the refit runs; a renewal that fails is tried again at the
    next, before the lease runs out."""
    while True:
        await asyncio.sleep(lease.total_seconds() / 3)
        try:
            async with sessionmaker() as session, session.begin():
                if not await renew(session=session, claim=claim, now=datetime.now(UTC), lease=lease):
                    return
        except Exception:
            log.warning("could not renew a refit's lease", exc_info=True, extra={"refit_id": str(claim.job_id)})


async def work(
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    outbox: Outbox,
    waiting: asyncio.Event,
    lease: timedelta = LEASE,
    poll_seconds: float = 2.0,
) -> None:
    """Runs refit jobs one after another, woken by requests in this process and polling for others'
    (and for jobs whose worker stopped)."""
    while True:
        if await run_next(sessionmaker=sessionmaker, outbox=outbox, lease=lease):
            continue
        waiting.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiting.wait(), poll_seconds)


def expiry_sweep() -> Sweep:
    """The sweep forgetting refits finished more than KEPT_FOR ago."""
    jobs = cast(Table, RefitJob.__table__)
    return retention.pruning(jobs, jobs.c.finished_at, KEPT_FOR, settled=jobs.c.status.in_(("succeeded", "failed")))
