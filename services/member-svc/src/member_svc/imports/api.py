"""Routes for bulk member imports from CSV."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status

from member_svc.dependencies import IdempotentRoute
from member_svc.exceptions import MalformedCsv
from member_svc.imports import service as imports
from member_svc.imports.schemas import ImportErrorsPage, ImportRead, ImportRowErrorRead
from qunyun_shared.dependencies import CurrentIdentity, DbSession
from qunyun_shared.events.integers import INT32_MAX

router = APIRouter(prefix="/members/imports", tags=["imports"], route_class=IdempotentRoute)

_CSV_EXAMPLE = (
    "merchant_member_id,nickname,phone,gender,age_band,region,persona_tags,active_hours,tags\n"
    "VIP-000123,小雨妈妈,13812341234,female,25-34,上海,宝妈|烘焙爱好者,20|21,VIP\n"
)


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Upload a CSV of members (UTF-8; lists separated by |); imported in the background",
    openapi_extra={"requestBody": {"required": True, "content": {"text/csv": {"example": _CSV_EXAMPLE}}}},
)
async def upload(request: Request, session: DbSession, caller: CurrentIdentity) -> ImportRead:
    if request.headers.get("content-type", "").split(";")[0].strip() != "text/csv":
        raise MalformedCsv("Send the file as the body with Content-Type: text/csv.")
    job = await imports.accept_upload(tenant_id=caller.tenant_id, upload=await request.body())
    session.add(job)
    await session.flush()
    request.app.state.imports_waiting.set()
    return ImportRead.model_validate(job)


@router.get("/{job_id}", summary="Progress of an import")
async def progress(job_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> ImportRead:
    return ImportRead.model_validate(await imports.get_job(session=session, tenant_id=caller.tenant_id, job_id=job_id))


@router.get("/{job_id}/errors", summary="The rows an import could not take, and why")
async def errors(
    job_id: uuid.UUID,
    session: DbSession,
    caller: CurrentIdentity,
    after_row: Annotated[int, Query(ge=0, le=INT32_MAX)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> ImportErrorsPage:
    await imports.get_job(session=session, tenant_id=caller.tenant_id, job_id=job_id)
    found = await imports.row_errors(session=session, job_id=job_id, after_row=after_row, limit=limit + 1)
    page = found[:limit]
    return ImportErrorsPage(
        errors=[ImportRowErrorRead.model_validate(e) for e in page],
        next_after_row=page[-1].row if len(found) > limit else None,
    )
