"""Routes for members."""

import uuid

from fastapi import APIRouter, status

from member_svc import service
from member_svc.schemas import MemberCreate, MemberRead
from qunyun_shared.dependencies import CurrentIdentity, DbSession

router = APIRouter(prefix="/members", tags=["members"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MemberRead)
async def create_member(body: MemberCreate, session: DbSession, caller: CurrentIdentity) -> object:
    return await service.create_member(session=session, tenant_id=caller.tenant_id, member_in=body)


@router.get("/{member_id}", response_model=MemberRead)
async def get_member(member_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> object:
    return await service.get_member(session=session, tenant_id=caller.tenant_id, member_id=member_id)
