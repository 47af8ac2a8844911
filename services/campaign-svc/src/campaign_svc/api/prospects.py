"""What campaigns know of a member."""

import uuid

from fastapi import APIRouter

from campaign_svc import service
from campaign_svc.schemas import ProspectRead
from qunyun_shared.dependencies import CurrentIdentity, DbSession

router = APIRouter(prefix="/campaigns/prospects", tags=["campaigns"])


@router.get("/{member_id}", response_model=ProspectRead)
async def get_prospect(member_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> object:
    return await service.get_prospect(session=session, tenant_id=caller.tenant_id, member_id=member_id)
