"""History imports: upload a file of one kind, follow its progress, read the lines it could not take and what
each record became. Seeing an import takes the read permission of what it imports; making one, what sending
its rows to the history endpoint directly takes."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response, status

from gateway_svc.dependencies import Caller, Runtime, TenantRoute
from gateway_svc.exceptions import PayloadTooLarge
from gateway_svc.imports import service as imports
from gateway_svc.imports.exceptions import UnsupportedImportFormat
from gateway_svc.imports.kinds import Kind
from gateway_svc.imports.schemas import (
    ImportErrorPage,
    ImportErrorRead,
    ImportPage,
    ImportRead,
    ImportResultPage,
    ImportResultRead,
)
from qunyun_shared import problem_responses
from qunyun_shared.dependencies import DbSession
from qunyun_shared.pagination import decode_cursor, decode_time_cursor, encode_cursor, encode_time_cursor
from qunyun_shared.problems import InvalidInput

router = APIRouter(prefix="/api/v1/imports", tags=["imports"], route_class=TenantRoute)

_CSV_EXAMPLE = (
    "merchant_order_id,merchant_member_id,placed_at,paid_at,product_id,quantity,unit_price_fen\n"
    "TB-2025-0001,M0001,2025-06-18T20:41:00+08:00,2025-06-18T20:42:10+08:00,sku-oat-1kg,2,5900\n"
    "TB-2025-0001,M0001,2025-06-18T20:41:00+08:00,2025-06-18T20:42:10+08:00,sku-cup,1,1900\n"
)
_UPLOAD = (
    "The body is the file: CSV, UTF-8, a header line naming the kind's columns (docs/services/gateway.md), "
    "lists within a cell separated by `|`. Orders take a line per item and members a line per community "
    "membership, an order's (a member's) lines one after another. The file is checked (encoding, header) and "
    "stored, then imported in the background in batches of 1,000; the answer is the job, its Location to poll. "
    "A tenant's imports run one after another in the order they came: upload members before the orders naming "
    "them."
)
Limit = Annotated[int, Query(ge=1, le=1000)]


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Import history from a CSV file: members, orders, check-ins, content or engagement",
    description=_UPLOAD,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE}},
        }
    },
    responses=problem_responses.of(
        413,
        415,
        s415="The body is not sent as `text/csv` (UTF-8).",
        s422="Not UTF-8, a header naming an unknown column or lacking one the kind needs, no lines, or a "
        "campaign_id with a kind other than checkins (or none with checkins); nothing is stored.",
    ),
)
async def upload(
    request: Request,
    response: Response,
    background: BackgroundTasks,
    caller: Caller,
    session: DbSession,
    runtime: Runtime,
    kind: Kind,
    campaign_id: uuid.UUID | None = None,
) -> ImportRead:
    media_type, _, parameters = request.headers.get("content-type", "").partition(";")
    charset = parameters.strip().lower().removeprefix("charset=").strip('"') if parameters.strip() else "utf-8"
    if media_type.strip().lower() != "text/csv" or charset not in ("utf-8", "utf8"):
        raise UnsupportedImportFormat("Send the file as the body, with Content-Type: text/csv (UTF-8).")
    declared, limit = request.headers.get("content-length", ""), runtime.settings.import_max_bytes
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"The file exceeds {limit} bytes; split it.")
    job = await imports.accept_upload(
        session=session,
        caller=caller,
        kind=kind,
        campaign_id=campaign_id,
        chunks=request.stream(),
        max_bytes=limit,
        now=datetime.now(UTC),
    )
    response.headers["Location"] = f"/api/v1/imports/{job.id}"
    background.add_task(request.app.state.imports_waiting.set)  # once committed: the job is there to claim
    return ImportRead.model_validate(job)


@router.get("", summary="The tenant's imports, newest first (those of kinds the credential may read)")
async def list_imports(
    caller: Caller, session: DbSession, limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None
) -> ImportPage:
    before = decode_time_cursor(cursor) if cursor else None
    jobs = await imports.list_jobs(session=session, caller=caller, before=before, limit=limit + 1)
    page = jobs[:limit]
    next_cursor = encode_time_cursor(page[-1].created_at, page[-1].id) if len(jobs) > limit else None
    return ImportPage(imports=[ImportRead.model_validate(job) for job in page], next_cursor=next_cursor)


@router.get("/{import_id}", summary="An import's progress: status, lines processed, records created or failed")
async def get_import(import_id: uuid.UUID, caller: Caller, session: DbSession) -> ImportRead:
    return ImportRead.model_validate(await imports.get_job(session=session, caller=caller, job_id=import_id))


@router.get("/{import_id}/errors", summary="The lines an import could not take, and why, in line order")
async def list_errors(
    import_id: uuid.UUID, caller: Caller, session: DbSession, limit: Limit = 200, cursor: str | None = None
) -> ImportErrorPage:
    job = await imports.get_job(session=session, caller=caller, job_id=import_id)
    entries, last = await imports.ledger_page(
        session=session, job_id=job.id, ledger="errors", after=_position(cursor), limit=limit
    )
    return ImportErrorPage(
        errors=[ImportErrorRead(line=line, field=field, message=message) for line, field, message in entries],
        next_cursor=encode_cursor(*last) if last else None,
    )


@router.get(
    "/{import_id}/results",
    summary="What each record of an import became: its line, the merchant's id and ours, in line order",
)
async def list_results(
    import_id: uuid.UUID, caller: Caller, session: DbSession, limit: Limit = 200, cursor: str | None = None
) -> ImportResultPage:
    job = await imports.get_job(session=session, caller=caller, job_id=import_id)
    entries, last = await imports.ledger_page(
        session=session, job_id=job.id, ledger="results", after=_position(cursor), limit=limit
    )
    return ImportResultPage(
        results=[
            ImportResultRead(line=line, merchant_id=merchant_id, id=record_id, outcome=outcome)
            for line, merchant_id, record_id, outcome in entries
        ],
        next_cursor=encode_cursor(*last) if last else None,
    )


def _position(cursor: str | None) -> tuple[int, int] | None:
    if cursor is None:
        return None
    batch, index = decode_cursor(cursor, parts=2)
    if not (batch.isdigit() and index.isdigit()):
        raise InvalidInput("Malformed cursor.", field="cursor")
    return int(batch), int(index)
