"""Routes for the calendar: an item scheduled into communities, its placements, and each community's calendar,
push policy and best slots."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import AwareDatetime

from content_svc.audience import service as audience
from content_svc.calendar import service as calendar
from content_svc.calendar.schemas import PlacementRead, PushPolicy, ScheduleRequest, SlotSuggestion
from content_svc.dependencies import ContentSettings, IdempotentRoute
from qunyun_shared import problem_responses
from qunyun_shared.dependencies import CurrentIdentity, DbSession
from qunyun_shared.events.content import ContentType
from qunyun_shared.problems import InvalidInput

router = APIRouter(prefix="/content/communities", tags=["calendar"], route_class=IdempotentRoute)
# An item's schedule and placements, listed with the items.
items_router = APIRouter(prefix="/content", tags=["content"], route_class=IdempotentRoute)

_LONGEST_RANGE = timedelta(days=92)


@router.get("/{community_id}/policy", summary="The community's push cap and promotion ceiling")
async def get_policy(community_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> PushPolicy:
    return PushPolicy.model_validate(
        await audience.get_community(session=session, tenant_id=caller.tenant_id, community_id=community_id)
    )


@router.put("/{community_id}/policy", summary="Change the push cap, promotion ceiling and time zone")
async def set_policy(
    community_id: uuid.UUID, body: PushPolicy, session: DbSession, caller: CurrentIdentity
) -> PushPolicy:
    return PushPolicy.model_validate(
        await calendar.set_policy(session=session, tenant_id=caller.tenant_id, community_id=community_id, policy=body)
    )


@router.get("/{community_id}/calendar", summary="The community's placements publishing in [start, end)")
async def get_calendar(
    community_id: uuid.UUID,
    start: AwareDatetime,
    end: AwareDatetime,
    session: DbSession,
    caller: CurrentIdentity,
) -> list[PlacementRead]:
    if not start < end <= start + _LONGEST_RANGE:
        raise InvalidInput("end must be after start, and at most 92 days after it.", field="end")
    placements = await calendar.calendar_of(
        session=session, tenant_id=caller.tenant_id, community_id=community_id, start=start, end=end
    )
    return [PlacementRead.model_validate(p) for p in placements]


@router.get(
    "/{community_id}/slots",
    summary="The next best times to publish, from the members' reading hours",
    responses=problem_responses.of(409, s409="The community is archived: nothing is published to it."),
)
async def suggest_slots(
    community_id: uuid.UUID,
    session: DbSession,
    caller: CurrentIdentity,
    settings: ContentSettings,
    content_type: ContentType = "knowledge",
    count: Annotated[int, Query(ge=1, le=20)] = 3,
) -> SlotSuggestion:
    return await calendar.suggest_slots(
        session=session,
        tenant_id=caller.tenant_id,
        community_id=community_id,
        content_type=content_type,
        count=count,
        now=datetime.now(UTC),
        min_engagements=settings.slot_min_engagements,
    )


@items_router.post(
    "/items/{content_id}/schedule",
    status_code=status.HTTP_201_CREATED,
    summary="Schedule an item into communities at a time, within each one's flooding policy",
)
async def schedule(
    content_id: uuid.UUID, body: ScheduleRequest, session: DbSession, caller: CurrentIdentity
) -> list[PlacementRead]:
    placements = await calendar.schedule(
        session=session, tenant_id=caller.tenant_id, content_id=content_id, request=body, now=datetime.now(UTC)
    )
    return [PlacementRead.model_validate(p) for p in placements]


@items_router.get("/items/{content_id}/placements", summary="Where and when an item is or was published")
async def placements(content_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> list[PlacementRead]:
    placements = await calendar.placements_of(session=session, tenant_id=caller.tenant_id, content_id=content_id)
    return [PlacementRead.model_validate(p) for p in placements]


@items_router.post("/placements/{placement_id}/cancel", summary="Cancel a scheduled publication")
async def cancel(placement_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> PlacementRead:
    return PlacementRead.model_validate(
        await calendar.cancel(session=session, tenant_id=caller.tenant_id, placement_id=placement_id)
    )
