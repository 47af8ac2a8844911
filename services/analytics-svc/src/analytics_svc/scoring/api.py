"""A member's scores, the tenant's segments, its fitted model, and refits of it run in the background."""

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response, status

from analytics_svc.dependencies import IdempotentRoute
from analytics_svc.scoring import service
from analytics_svc.scoring.schemas import MemberScores, RefitJobRead, SegmentCount, TenantModelRead
from qunyun_shared import problem_responses
from qunyun_shared.dependencies import CurrentIdentity, DbSession

router = APIRouter(prefix="/analytics", tags=["segments"], route_class=IdempotentRoute)

_REFIT_ACCEPTED: dict[str, Any] = {
    "description": "The refit, queued (or the one of the tenant already queued or running): poll its URL.",
    "headers": {
        "Location": {
            "description": "The refit's URL, relative to this one (`../models/refits/{id}`).",
            "schema": {"type": "string"},
        }
    },
}


@router.get("/members/{member_id}", summary="A member's RFM scores, segment, churn risk and lifetime value")
async def member_scores(member_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> MemberScores:
    return await service.member_scores(
        session=session, tenant_id=caller.tenant_id, member_id=member_id, now=datetime.now(UTC)
    )


@router.get("/segments", summary="Members per value segment")
async def segment_counts(session: DbSession, caller: CurrentIdentity) -> list[SegmentCount]:
    return await service.segment_counts(session=session, tenant_id=caller.tenant_id)


@router.post(
    "/segments/recompute",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Refit the tenant's model (quintiles, BG/NBD, Gamma-Gamma) and rescore every member, in the background",
    description="Needs the analytics:write permission. Answers at once with the refit, queued; poll it "
    "(`GET /analytics/models/refits/{id}`, its `Location`) until it has `succeeded` (its result is the model "
    "fitted) or `failed`. While a refit of the tenant is queued or running, that one is answered.",
    responses={202: _REFIT_ACCEPTED, **problem_responses.of(403, s403="The caller lacks analytics:write.")},
)
async def recompute(request: Request, response: Response, session: DbSession, caller: CurrentIdentity) -> RefitJobRead:
    job = await service.request_refit(session=session, caller=caller, now=datetime.now(UTC))
    response.headers["Location"] = f"../models/refits/{job.id}"
    waiting = getattr(request.app.state, "refits_waiting", None)
    if waiting is not None:  # this process's worker looks as soon as the request has committed
        waiting.set()
    return RefitJobRead.of(job)


@router.get(
    "/models",
    summary="The tenant's fitted model: RFM breakpoints, BG/NBD and Gamma-Gamma parameters, fit diagnostics",
    responses=problem_responses.of(404, s404="No model fitted yet (`model-not-fitted`)."),
)
async def tenant_model(session: DbSession, caller: CurrentIdentity) -> TenantModelRead:
    return await service.tenant_model(session=session, tenant_id=caller.tenant_id)


@router.get(
    "/models/refits/{job_id}",
    summary="A refit of the tenant's model: queued, running, succeeded (with the model fitted) or failed",
)
async def refit_job(job_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> RefitJobRead:
    return RefitJobRead.of(await service.refit_job(session=session, tenant_id=caller.tenant_id, job_id=job_id))
