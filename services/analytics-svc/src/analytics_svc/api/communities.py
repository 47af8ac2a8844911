"""Community measures."""

import uuid

from fastapi import APIRouter

from analytics_svc import service
from analytics_svc.schemas import CommunityMemberCount
from qunyun_shared.dependencies import CurrentIdentity, DbSession

router = APIRouter(prefix="/analytics/communities", tags=["analytics"])


@router.get("/{community_id}/members", response_model=CommunityMemberCount)
async def community_member_count(community_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> object:
    return await service.community_member_count(session=session, tenant_id=caller.tenant_id, community_id=community_id)
