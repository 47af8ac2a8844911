"""Bulk import of members from CSV.

An upload is checked (encoding, header) and stored as a job at once; a worker then imports it a chunk
at a time. Each chunk is one transaction holding its members, their tags, their row errors and the
job's progress, so a member is imported whole or not at all, and a worker that dies mid-job leaves a
job the next worker continues from the last committed chunk. Bad rows are reported, never fatal.
Reading a file (its check at upload, each chunk's parsing) runs in a worker thread, off the event loop:
a file of 500,000 rows would otherwise hold up every other request of the process for as long.
"""

import asyncio
import csv
import io
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.exceptions import ImportNotFound, MalformedCsv, MalformedPhone
from member_svc.imports import bulk
from member_svc.imports.models import ImportJob, ImportRowError
from member_svc.members.schemas import MemberCreate
from member_svc.members.service import announce_birthdays, member_ids_by_merchant_id, phone_owner
from member_svc.personal_data.cipher import PersonalDataCipher, normalise_phone
from member_svc.tags import service as tags
from member_svc.tags.schemas import TagAdd
from qunyun_shared.outbox import Outbox

COLUMNS = (
    "merchant_member_id",
    "nickname",
    "phone",
    "gender",
    "age_band",
    "birthday",
    "region",
    "persona_tags",
    "active_hours",
    "tags",
)
REQUIRED_COLUMNS = ("nickname",)
LIST_SEPARATOR = "|"
MAX_ROWS = 500_000
CHUNK_ROWS = 2000
LEASE = timedelta(seconds=60)


@dataclass(frozen=True)
class RowError:
    row: int
    field: str | None
    message: str


@dataclass(frozen=True)
class ParsedRow:
    row: int
    member: dict[str, Any]
    phone: str | None
    tags: list[str]


def accept(*, tenant_id: str, upload: bytes) -> ImportJob:
    """A job for an upload whose encoding and header are sound; otherwise MalformedCsv and nothing stored."""
    text = _decode(upload)
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        raise MalformedCsv("The CSV is empty.")
    _check_header(header)
    total = sum(1 for row in reader if any(cell.strip() for cell in row))
    if total == 0:
        raise MalformedCsv("The CSV has a header but no rows.")
    if total > MAX_ROWS:
        raise MalformedCsv(f"At most {MAX_ROWS} rows per import; split the file.")
    now = datetime.now(UTC)
    return ImportJob(
        id=uuid.uuid4(), tenant_id=tenant_id, status="queued", csv=upload, total_rows=total, created_at=now
    )


async def accept_upload(*, tenant_id: str, upload: bytes) -> ImportJob:
    """`accept`, in a worker thread: checking a file reads every row of it."""
    return await asyncio.to_thread(accept, tenant_id=tenant_id, upload=upload)


async def get_job(*, session: AsyncSession, tenant_id: str, job_id: uuid.UUID) -> ImportJob:
    job = await session.get(ImportJob, job_id)
    if job is None or job.tenant_id != tenant_id:
        raise ImportNotFound(f"No import {job_id}.")
    return job


async def row_errors(*, session: AsyncSession, job_id: uuid.UUID, after_row: int, limit: int) -> list[ImportRowError]:
    query = (
        select(ImportRowError)
        .where(ImportRowError.job_id == job_id, ImportRowError.row > after_row)
        .order_by(ImportRowError.row)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def claim_next(*, session: AsyncSession, now: datetime) -> ImportJob | None:
    """Takes the oldest job no worker holds (or whose worker's lease ran out) for this worker."""
    job = await session.scalar(
        select(ImportJob)
        .where(
            ImportJob.status.in_(("queued", "running")),
            (ImportJob.lease_until.is_(None)) | (ImportJob.lease_until < now),
        )
        .order_by(ImportJob.created_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if job is not None:
        job.status, job.lease_until = "running", now + LEASE
        job.started_at = job.started_at or now
    return job


def chunks_of(job: ImportJob) -> Iterator[list[ParsedRow | RowError]]:
    """The job's rows not yet processed, parsed, in chunks. Rows are numbered by their line in the file."""
    assert job.csv is not None
    reader = csv.reader(io.StringIO(_decode(job.csv)))
    header = [name.strip() for name in next(reader)]
    chunk: list[ParsedRow | RowError] = []
    seen = 0
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        seen += 1
        if seen <= job.processed_rows:
            continue
        chunk.append(parse_row(reader.line_num, header, cells))
        if len(chunk) == CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def parsed_chunks(*, job: ImportJob) -> AsyncIterator[list[ParsedRow | RowError]]:
    """`chunks_of`, each chunk decoded and parsed in a worker thread."""
    chunks = chunks_of(job)
    while (chunk := await asyncio.to_thread(next, chunks, None)) is not None:
        yield chunk


def parse_row(line: int, header: Sequence[str], cells: Sequence[str]) -> ParsedRow | RowError:
    """One CSV row as a member to import, or why it cannot be one."""
    if len(cells) > len(header):
        return RowError(line, None, "The row has more cells than the header.")
    values = {name: cell.strip() for name, cell in zip(header, cells, strict=False)}
    try:
        phone = normalise_phone(values["phone"]) if values.get("phone") else None
    except MalformedPhone as exc:
        return RowError(line, "phone", exc.detail)
    fields: dict[str, Any] = {
        "merchant_member_id": values.get("merchant_member_id") or None,
        "nickname": values.get("nickname", ""),
        "gender": values.get("gender") or None,
        "age_band": values.get("age_band") or None,
        "birthday": values.get("birthday") or None,
        "region": values.get("region") or None,
        "persona_tags": _list(values.get("persona_tags")),
        "active_hours": _list(values.get("active_hours")),
    }
    try:
        member = MemberCreate.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        return RowError(line, str(first["loc"][0]), first["msg"])
    try:
        member_tags = [TagAdd(tag=tag).tag for tag in _list(values.get("tags"))]
    except ValidationError as exc:
        return RowError(line, "tags", exc.errors()[0]["msg"])
    return ParsedRow(line, member.model_dump(exclude={"phone"}), phone, list(dict.fromkeys(member_tags)))


async def import_chunk(
    *,
    session: AsyncSession,
    outbox: Outbox,
    cipher: PersonalDataCipher,
    job: ImportJob,
    chunk: Sequence[ParsedRow | RowError],
    now: datetime,
) -> bool:
    """Imports one chunk and records the job's progress, in the session's transaction. False if another
    worker has moved the job on meanwhile (this worker's lease ran out): then nothing must commit."""
    tenant_id = job.tenant_id
    errors = [item for item in chunk if isinstance(item, RowError)]
    parsed, taken = await _with_free_merchant_ids(
        session, tenant_id, [item for item in chunk if isinstance(item, ParsedRow)]
    )
    errors += taken
    rows: list[tuple[ParsedRow, dict[str, Any]]] = []
    phones_seen: set[bytes] = set()
    for item in parsed:
        member_id = uuid.uuid4()
        row = {"id": member_id, **item.member, "phone_encrypted": None, "phone_hash": None}
        if item.phone is not None:
            digest = cipher.lookup_hash(item.phone, tenant_id=tenant_id)
            if digest in phones_seen:
                errors.append(RowError(item.row, "phone", "Another row of this file has the same phone."))
                continue
            phones_seen.add(digest)
            row["phone_encrypted"] = cipher.encrypt(item.phone, owner=phone_owner(tenant_id, member_id))
            row["phone_hash"] = digest
        rows.append((item, row))
    inserted = await bulk.insert_members(
        session=session, tenant_id=tenant_id, members=[row for _, row in rows], now=now
    )
    imported = [(item, row["id"]) for item, row in rows if row["id"] in inserted]
    # Rows refused by a unique key: checked for before, so taken by a member created meanwhile.
    errors += [
        RowError(item.row, "phone", "Another member of this tenant has this phone.")
        if item.phone is not None
        else RowError(item.row, "merchant_member_id", "Another member of this tenant has this merchant id.")
        for item, row in rows
        if row["id"] not in inserted
    ]
    await _tag(session, outbox, tenant_id, imported)
    birthdays = [(member_id, item.member["birthday"]) for item, member_id in imported if item.member["birthday"]]
    await announce_birthdays(session=session, outbox=outbox, tenant_id=tenant_id, birthdays=birthdays)
    if errors:
        await session.execute(
            insert(ImportRowError),
            [{"job_id": job.id, "row": e.row, "field": e.field, "message": e.message[:300]} for e in errors],
        )
    progressed = await session.execute(
        update(ImportJob)
        .where(ImportJob.id == job.id, ImportJob.processed_rows == job.processed_rows)
        .values(
            processed_rows=job.processed_rows + len(chunk),
            imported=ImportJob.imported + len(imported),
            failed=ImportJob.failed + len(errors),
            lease_until=now + LEASE,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(progressed.rowcount)  # type: ignore[attr-defined]


async def finish(*, session: AsyncSession, job_id: uuid.UUID, now: datetime) -> None:
    """Marks a job done and drops its CSV, which holds phone numbers no longer needed."""
    await session.execute(
        update(ImportJob)
        .where(ImportJob.id == job_id)
        .values(status="done", csv=None, finished_at=now, lease_until=None)
        .execution_options(synchronize_session=False)
    )


async def _with_free_merchant_ids(
    session: AsyncSession, tenant_id: str, parsed: Sequence[ParsedRow]
) -> tuple[list[ParsedRow], list[RowError]]:
    """The rows whose merchant id (if they give one) neither a member nor an earlier row has, and errors for the
    others."""
    named = {item.member["merchant_member_id"] for item in parsed} - {None}
    taken = await member_ids_by_merchant_id(session=session, tenant_id=tenant_id, merchant_member_ids=named)
    free: list[ParsedRow] = []
    errors: list[RowError] = []
    seen: set[str] = set()
    for item in parsed:
        merchant_id = item.member["merchant_member_id"]
        if merchant_id in taken:
            message = f"Member {taken[merchant_id]} already has merchant id {merchant_id!r}."
            errors.append(RowError(item.row, "merchant_member_id", message))
        elif merchant_id in seen:
            errors.append(
                RowError(item.row, "merchant_member_id", "Another row of this file has the same merchant id.")
            )
        else:
            free.append(item)
            if merchant_id is not None:
                seen.add(merchant_id)
    return free, errors


async def _tag(
    session: AsyncSession, outbox: Outbox, tenant_id: str, imported: Sequence[tuple[ParsedRow, uuid.UUID]]
) -> None:
    tagged = [(member_id, tag) for item, member_id in imported for tag in item.tags]
    await tags.tag_new_members(session=session, outbox=outbox, tenant_id=tenant_id, tagged=tagged)
    await tags.apply_rules(session=session, outbox=outbox, tenant_id=tenant_id, member_ids=[m for _, m in imported])


def _check_header(header: list[str]) -> None:
    names = [name.strip() for name in header]
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        raise MalformedCsv(f"Unknown columns {unknown}; the columns are {list(COLUMNS)}.")
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise MalformedCsv(f"Missing columns {missing}.")
    if len(set(names)) != len(names):
        raise MalformedCsv("A column appears twice in the header.")


def _decode(upload: bytes) -> str:
    try:
        return upload.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MalformedCsv("The CSV must be UTF-8 (Excel: 'CSV UTF-8').") from None


def _list(cell: str | None) -> list[str]:
    return [part.strip() for part in (cell or "").split(LIST_SEPARATOR) if part.strip()]
