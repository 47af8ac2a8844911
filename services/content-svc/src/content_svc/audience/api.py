"""Route for the audience content published to a community reaches."""

import uuid

from fastapi import APIRouter

from content_svc.audience import service as audience
from content_svc.audience.schemas import CommunityAudience
from content_svc.dependencies import IdempotentRoute
from qunyun_shared.dependencies import CurrentIdentity, DbSession

# Listed with the calendar in the API document: whom a community's pushes reach, beside when they go out.
router = APIRouter(prefix="/content/communities", tags=["calendar"], route_class=IdempotentRoute)


@router.get("/{community_id}/audience", summary="How many members content published there reaches")
async def community_audience(community_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> CommunityAudience:
    community = await audience.get_community(session=session, tenant_id=caller.tenant_id, community_id=community_id)
    return CommunityAudience(
        community_id=community.id, members=await audience.audience_size(session=session, community_id=community.id)
    )
