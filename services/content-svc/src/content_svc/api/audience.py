"""Who content reaches."""

import uuid

from fastapi import APIRouter

from content_svc import service
from content_svc.schemas import CommunityAudience
from qunyun_shared.dependencies import CurrentIdentity, DbSession

router = APIRouter(prefix="/content/communities", tags=["content"])


@router.get("/{community_id}/audience", response_model=CommunityAudience)
async def community_audience(community_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> object:
    return await service.community_audience(session=session, tenant_id=caller.tenant_id, community_id=community_id)
