"""Aggregated views for front-ends: one request for what several services hold about one member or community."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from gateway_svc.dependencies import Caller, Runtime, Upstreams
from gateway_svc.views import service as views
from gateway_svc.views.schemas import CommunityDashboard, Member360
from gateway_svc.views.sections import ViewSource

router = APIRouter(prefix="/api/v1/views", tags=["views"])

_SECTIONS = (
    "Sections are fetched at once, each from its service with the caller's identity. One that fails or "
    "misses the deadline is `unavailable` and one the credential may not see is `forbidden`; the page is "
    "still 200. "
)


def _not_found(what: str) -> dict[int | str, dict[str, Any]]:
    return {404: {"description": f"No such {what} for the caller's tenant (application/problem+json)."}}


async def view_source(caller: Caller, upstreams: Upstreams, runtime: Runtime) -> ViewSource:
    return ViewSource(upstreams, caller, deadline=runtime.settings.view_section_deadline_seconds)


Source = Annotated[ViewSource, Depends(view_source)]


@router.get(
    "/members/{member_id}",
    summary="Member 360: profile, tags, points and level, orders, coupons, segment, churn risk, LTV, engagement",
    description=_SECTIONS + "Phone numbers are masked unless the credential holds members:personal_data.",
    responses=_not_found("member"),
)
async def member_360(member_id: uuid.UUID, source: Source) -> Member360:
    return await views.view_member(source=source, member_id=member_id)


@router.get(
    "/communities/{community_id}",
    summary="Community dashboard: the community, its KPIs, health and stage, content schedule, running campaigns",
    description=_SECTIONS,
    responses=_not_found("community"),
)
async def community_dashboard(community_id: uuid.UUID, source: Source) -> CommunityDashboard:
    return await views.view_community(source=source, community_id=community_id)
