"""Routes for communities and who is in them."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from member_svc import service
from member_svc.schemas import CommunityCreate, CommunityRead, JoinRequest, MembershipRead
from qunyun_shared.dependencies import CurrentIdentity, DbSession, EventOutbox

router = APIRouter(prefix="/communities", tags=["communities"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CommunityRead)
async def create_community(body: CommunityCreate, session: DbSession, caller: CurrentIdentity) -> object:
    return await service.create_community(session=session, tenant_id=caller.tenant_id, community_in=body)


@router.get("", response_model=list[CommunityRead])
async def list_communities(
    session: DbSession,
    caller: CurrentIdentity,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    after: uuid.UUID | None = None,
) -> object:
    return await service.list_communities(session=session, tenant_id=caller.tenant_id, limit=limit, after=after)


@router.get("/{community_id}", response_model=CommunityRead)
async def get_community(community_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> object:
    return await service.get_community(session=session, tenant_id=caller.tenant_id, community_id=community_id)


@router.post("/{community_id}/members", status_code=status.HTTP_201_CREATED, response_model=MembershipRead)
async def join_community(
    community_id: uuid.UUID, body: JoinRequest, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> object:
    return await service.join_community(
        session=session, outbox=outbox, tenant_id=caller.tenant_id, community_id=community_id, join=body
    )


@router.delete("/{community_id}/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
async def leave_community(
    community_id: uuid.UUID, member_id: uuid.UUID, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> None:
    await service.leave_community(
        session=session, outbox=outbox, tenant_id=caller.tenant_id, community_id=community_id, member_id=member_id
    )
