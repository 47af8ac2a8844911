"""What campaigns know of a member."""

import uuid

from fastapi import APIRouter

from campaign_svc.dependencies import IdempotentRoute
from campaign_svc.members import service as members
from campaign_svc.members.schemas import MemberRead
from qunyun_shared.dependencies import CurrentIdentity, DbSession

router = APIRouter(prefix="/campaigns/members", tags=["members"], route_class=IdempotentRoute)


@router.get("/{member_id}", summary="A member as campaigns see them (consent, level, inviter)")
async def get_member(member_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> MemberRead:
    return MemberRead.model_validate(
        await members.get_member(session=session, tenant_id=caller.tenant_id, member_id=member_id)
    )
