"""Import jobs: accepted with their file, claimed by one worker at a time, moved on a batch at a time, ended.

Every change of a running job is conditional on the worker still holding it (`worker`), and a batch's record
on the cursor being where that worker left it: a worker that lost its lease to another commits nothing.
"""

import uuid
from collections.abc import AsyncIterable, AsyncIterator
from datetime import datetime, timedelta
from typing import Any, Literal

import orjson
from sqlalchemy import ColumnElement, delete, exists, insert, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from gateway_svc import access
from gateway_svc.exceptions import PayloadTooLarge
from gateway_svc.imports.exceptions import ImportNotFound
from gateway_svc.imports.kinds import SPECS, Kind
from gateway_svc.imports.ledger import Settled
from gateway_svc.imports.models import ImportBatch, ImportFilePart, ImportJob
from gateway_svc.imports.reading import PART_BYTES, UploadCheck
from gateway_svc.proxy.resources import resource_of
from qunyun_shared.identity import Identity
from qunyun_shared.problems import InvalidInput

UNFINISHED = ("queued", "running", "paused")
Ledger = Literal["results", "errors"]


def import_permission(kind: Kind, campaign_id: uuid.UUID | None = None) -> str:
    """What importing a kind needs: what sending its rows to the history endpoint directly would."""
    permission = access.permission_for("POST", SPECS[kind].path(campaign_id or uuid.UUID(int=0)))
    assert permission is not None
    return permission


def read_permission(kind: Kind) -> str:
    """What seeing an import of a kind needs: reading what it imports."""
    resource = resource_of(SPECS[kind].path(uuid.UUID(int=0)))
    assert resource is not None
    return f"{resource.area}:read"


def readable_kinds(caller: Identity) -> list[str]:
    return [kind.value for kind in Kind if access.allows(caller, read_permission(kind))]


async def accept_upload(
    *,
    session: AsyncSession,
    caller: Identity,
    kind: Kind,
    campaign_id: uuid.UUID | None,
    chunks: AsyncIterable[bytes],
    max_bytes: int,
    now: datetime,
) -> ImportJob:
    """Stores an uploaded file as a queued job, part by part as it arrives; a file that is not UTF-8, whose
    header does not name the kind's columns or that has no lines is refused (MalformedImport)."""
    access.require(caller, import_permission(kind, campaign_id))
    if (kind == Kind.CHECKINS) != (campaign_id is not None):
        raise InvalidInput("campaign_id names the campaign of check-ins, and only of them.", field="campaign_id")
    job = ImportJob(
        id=uuid.uuid4(),
        tenant_id=uuid.UUID(caller.tenant_id),
        kind=kind.value,
        campaign_id=campaign_id,
        status="queued",
        principal=caller.principal,
        roles=list(caller.roles),
        permissions=sorted(caller.permissions),
        file_bytes=0,
        file_parts=0,
        total_lines=0,
        created_at=now,
    )
    session.add(job)
    await session.flush()
    check = UploadCheck(SPECS[kind])
    async for part in _parts(chunks, max_bytes=max_bytes):
        check.take(part)
        await session.execute(insert(ImportFilePart).values(job_id=job.id, part=job.file_parts, content=part))
        job.file_parts += 1
        job.file_bytes += len(part)
    job.total_lines = check.finish()
    return job


async def _parts(chunks: AsyncIterable[bytes], *, max_bytes: int) -> AsyncIterator[bytes]:
    buffer = bytearray()
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > max_bytes:
            raise PayloadTooLarge(f"The file exceeds {max_bytes} bytes; split it.")
        buffer += chunk
        while len(buffer) >= PART_BYTES:
            yield bytes(buffer[:PART_BYTES])
            del buffer[:PART_BYTES]
    if buffer:
        yield bytes(buffer)


async def get_job(*, session: AsyncSession, caller: Identity, job_id: uuid.UUID) -> ImportJob:
    """A job of the caller's tenant of a kind the caller may read; any other is not there (ImportNotFound)."""
    job = await session.get(ImportJob, job_id)
    if job is None or str(job.tenant_id) != caller.tenant_id or job.kind not in readable_kinds(caller):
        raise ImportNotFound(f"No import {job_id}.")
    return job


async def list_jobs(
    *, session: AsyncSession, caller: Identity, before: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[ImportJob]:
    """The tenant's jobs of kinds the caller may read, newest first, after the cursor's."""
    query = select(ImportJob).where(
        ImportJob.tenant_id == uuid.UUID(caller.tenant_id), ImportJob.kind.in_(readable_kinds(caller))
    )
    if before is not None:
        query = query.where(tuple_(ImportJob.created_at, ImportJob.id) < tuple_(*before))
    query = query.order_by(ImportJob.created_at.desc(), ImportJob.id.desc()).limit(limit)
    return list(await session.scalars(query))


async def ledger_page(
    *, session: AsyncSession, job_id: uuid.UUID, ledger: Ledger, after: tuple[int, int] | None, limit: int
) -> tuple[list[list[Any]], tuple[int, int] | None]:
    """A page of a job's results or errors in line order, after the position `after` (the first line of a
    batch and an index among its entries), and the position of its last entry if more follow."""
    after_batch, after_index = after or (0, -1)
    column = ImportBatch.results if ledger == "results" else ImportBatch.errors
    query = select(ImportBatch.first_line, column).where(ImportBatch.job_id == job_id)
    if ledger == "errors":
        query = query.where(ImportBatch.error_count > 0)
    page: list[tuple[int, int, list[Any]]] = []
    bound = ImportBatch.first_line >= after_batch
    while len(page) <= limit:
        batches = (await session.execute(query.where(bound).order_by(ImportBatch.first_line).limit(8))).all()
        for first_line, blob in batches:
            entries = orjson.loads(blob)
            start = after_index + 1 if first_line == after_batch else 0
            page += [
                (first_line, index, entries[index]) for index in range(start, min(len(entries), start + limit + 1))
            ]
            if len(page) > limit:
                break
        if len(batches) < 8:
            break
        bound = ImportBatch.first_line > batches[-1][0]
    more = len(page) > limit
    page = page[:limit]
    return [entry for _, _, entry in page], (page[-1][0], page[-1][1]) if more else None


async def file_part(*, session: AsyncSession, job_id: uuid.UUID, part: int) -> bytes:
    content = await session.scalar(
        select(ImportFilePart.content).where(ImportFilePart.job_id == job_id, ImportFilePart.part == part)
    )
    if content is None:
        raise LookupError(f"import {job_id} has no part {part}: ended meanwhile")
    return content


def _unheld(now: datetime) -> ColumnElement[bool]:
    return or_(ImportJob.lease_until.is_(None), ImportJob.lease_until < now)


async def claim_next(*, session: AsyncSession, worker: str, now: datetime, lease: timedelta) -> ImportJob | None:
    """Takes the oldest unfinished job no worker holds, if no older job of its tenant is unfinished: a tenant's
    files are imported one after another, in the order they came (members before the orders naming them)."""
    older = aliased(ImportJob)
    waits = exists().where(
        older.tenant_id == ImportJob.tenant_id,
        older.status.in_(UNFINISHED),
        tuple_(older.created_at, older.id) < tuple_(ImportJob.created_at, ImportJob.id),
    )
    candidates = (
        select(ImportJob.id)
        .where(ImportJob.status.in_(UNFINISHED), _unheld(now), ~waits)
        .order_by(ImportJob.created_at, ImportJob.id)
        .limit(1)
    )
    job_id = await session.scalar(candidates)
    if job_id is None:
        return None
    taken = await session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.status.in_(UNFINISHED), _unheld(now))
        .values(worker=worker, lease_until=now + lease, status="running", reason=None, retry_at=None)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return None  # another worker took it first
    job = await session.get(ImportJob, job_id, populate_existing=True)
    if job is not None and job.started_at is None:
        job.started_at = now
    return job


async def renew_lease(
    *, session: AsyncSession, job_id: uuid.UUID, worker: str, now: datetime, lease: timedelta
) -> bool:
    """Extends the worker's hold on the job; False if the worker no longer holds it."""
    renewed = await session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.worker == worker, ImportJob.status.in_(UNFINISHED))
        .values(lease_until=now + lease)
        .execution_options(synchronize_session=False)
    )
    return bool(renewed.rowcount)  # type: ignore[attr-defined]


async def record_batch(
    *,
    session: AsyncSession,
    job: ImportJob,
    worker: str,
    first_line: int,
    last_line: int,
    settled: Settled,
    now: datetime,
    lease: timedelta,
) -> bool:
    """Records what a batch came to and moves the job's cursor past it; False (and nothing to commit) if the
    worker no longer holds the job or another moved it on."""
    counts = settled.counts
    moved = await session.execute(
        update(ImportJob)
        .where(ImportJob.id == job.id, ImportJob.worker == worker, ImportJob.processed_lines == job.processed_lines)
        .values(
            processed_lines=last_line - 1,
            records=ImportJob.records + len(settled.results),
            created=ImportJob.created + counts["created"],
            unchanged=ImportJob.unchanged + counts["unchanged"],
            failed=ImportJob.failed + counts["failed"],
            status="running",
            reason=None,
            retry_at=None,
            lease_until=now + lease,
        )
        .execution_options(synchronize_session=False)
    )
    if not moved.rowcount:  # type: ignore[attr-defined]
        return False
    await session.execute(
        insert(ImportBatch).values(
            job_id=job.id,
            first_line=first_line,
            last_line=last_line,
            results=orjson.dumps(settled.results),
            errors=orjson.dumps(settled.errors),
            error_count=len(settled.errors),
        )
    )
    return True


async def pause(*, session: AsyncSession, job_id: uuid.UUID, worker: str, reason: str, retry_at: datetime) -> None:
    """Shows why the job waits (a service away) and when it tries again."""
    await session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.worker == worker, ImportJob.status.in_(UNFINISHED))
        .values(status="paused", reason=reason[:300], retry_at=retry_at)
        .execution_options(synchronize_session=False)
    )


async def end(
    *,
    session: AsyncSession,
    job: ImportJob,
    worker: str,
    status: Literal["done", "failed"],
    reason: str | None,
    now: datetime,
) -> None:
    """Ends the job (done: every line processed) and drops its file, which may hold phone numbers."""
    values: dict[str, Any] = {"status": status, "reason": reason and reason[:300], "finished_at": now}
    if status == "done":
        values["processed_lines"] = job.total_lines
    ended = await session.execute(
        update(ImportJob)
        .where(ImportJob.id == job.id, ImportJob.worker == worker, ImportJob.status.in_(UNFINISHED))
        .values(**values, retry_at=None, worker=None, lease_until=None)
        .execution_options(synchronize_session=False)
    )
    if ended.rowcount:  # type: ignore[attr-defined]
        await session.execute(delete(ImportFilePart).where(ImportFilePart.job_id == job.id))


async def release(*, session: AsyncSession, job_id: uuid.UUID, worker: str) -> None:
    """Lets go of the job at once (the process is stopping), for another worker to go on with."""
    await session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.worker == worker)
        .values(lease_until=None)
        .execution_options(synchronize_session=False)
    )
