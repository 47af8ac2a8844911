"""Routes for a community's calendar, push policy, best slots and audience."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime

from content_svc import audience, calendar
from content_svc.dependencies import ContentSettings, IdempotentRoute
from content_svc.schemas import CommunityAudience, PlacementRead, PushPolicy, SlotSuggestion
from qunyun_shared import problem_responses
from qunyun_shared.dependencies import CurrentIdentity, DbSession
from qunyun_shared.events.content import ContentType
from qunyun_shared.problems import InvalidInput

router = APIRouter(prefix="/content/communities", tags=["calendar"], route_class=IdempotentRoute)

_LONGEST_RANGE = timedelta(days=92)


@router.get("/{community_id}/audience", summary="How many members content published there reaches")
async def community_audience(community_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> CommunityAudience:
    community = await audience.get_community(session=session, tenant_id=caller.tenant_id, community_id=community_id)
    return CommunityAudience(
        community_id=community.id, members=await audience.audience_size(session=session, community_id=community.id)
    )


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
