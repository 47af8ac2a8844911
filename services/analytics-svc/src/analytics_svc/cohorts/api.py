"""Cohorts, the funnel and revenue by cohort."""

import uuid
from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from analytics_svc.cohorts import service as cohorts
from analytics_svc.cohorts.schemas import CohortRowRead, FunnelStepRead
from analytics_svc.cohorts.service import CohortRow
from analytics_svc.communities import service as communities
from analytics_svc.dependencies import IdempotentRoute
from qunyun_shared.dependencies import CurrentIdentity, DbSession

router = APIRouter(prefix="/analytics", tags=["cohorts"], route_class=IdempotentRoute)

Start = Annotated[date, Query(alias="from")]
End = Annotated[date, Query(alias="to")]
CohortBy = Literal["week", "month"]


def _rows(rows: list[CohortRow]) -> list[CohortRowRead]:
    return [
        CohortRowRead(cohort_start=r.cohort.start, cohort_end=r.cohort.end, members=r.members, values=r.values)
        for r in rows
    ]


@router.get("/cohorts/retention", summary="Share of each join cohort active in each period after joining")
async def retention(
    start: Start,
    end: End,
    session: DbSession,
    caller: CurrentIdentity,
    granularity: CohortBy = "week",
    community_id: uuid.UUID | None = None,
) -> list[CohortRowRead]:
    if community_id is not None:
        await communities.require_community(session=session, tenant_id=caller.tenant_id, community_id=community_id)
    return _rows(
        await cohorts.retention(
            session=session,
            tenant_id=caller.tenant_id,
            start=start,
            end=end,
            granularity=granularity,
            community_id=community_id,
        )
    )


@router.get("/cohorts/revenue", summary="GMV of each join cohort in each period after joining (fen)")
async def revenue(
    start: Start, end: End, session: DbSession, caller: CurrentIdentity, granularity: CohortBy = "month"
) -> list[CohortRowRead]:
    return _rows(
        await cohorts.revenue(
            session=session, tenant_id=caller.tenant_id, start=start, end=end, granularity=granularity
        )
    )


@router.get("/funnel", summary="Joined → engaged → first order → repurchase, for members who joined in the range")
async def funnel(start: Start, end: End, session: DbSession, caller: CurrentIdentity) -> list[FunnelStepRead]:
    return [
        FunnelStepRead.model_validate(s)
        for s in await cohorts.funnel(session=session, tenant_id=caller.tenant_id, start=start, end=end)
    ]
