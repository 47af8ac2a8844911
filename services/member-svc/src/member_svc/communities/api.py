"""Routes for communities and who is in them."""

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from member_svc.communities import entry
from member_svc.communities import service as communities
from member_svc.communities.schemas import (
    ApplicationRead,
    CommunityCreate,
    CommunityRead,
    CommunityUpdate,
    Decision,
    JoinRequest,
    JoinResult,
)
from member_svc.dependencies import IdempotentRoute
from qunyun_shared.dependencies import CurrentIdentity, DbSession, EventOutbox

router = APIRouter(prefix="/communities", tags=["communities"], route_class=IdempotentRoute)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CommunityRead)
async def create_community(
    body: CommunityCreate, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> object:
    return await communities.create_community(
        session=session, outbox=outbox, tenant_id=caller.tenant_id, community_in=body
    )


@router.get("", response_model=list[CommunityRead])
async def list_communities(
    session: DbSession,
    caller: CurrentIdentity,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    after: uuid.UUID | None = None,
    include_archived: bool = False,
) -> object:
    return await communities.list_communities(
        session=session, tenant_id=caller.tenant_id, limit=limit, after=after, include_archived=include_archived
    )


@router.get("/{community_id}", response_model=CommunityRead)
async def get_community(community_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> object:
    return await communities.get_community(session=session, tenant_id=caller.tenant_id, community_id=community_id)


@router.patch("/{community_id}", response_model=CommunityRead)
async def update_community(
    community_id: uuid.UUID, body: CommunityUpdate, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> object:
    return await communities.update_community(
        session=session, outbox=outbox, tenant_id=caller.tenant_id, community_id=community_id, changes=body
    )


@router.post("/{community_id}/archive", response_model=CommunityRead, summary="Close a community to joins")
async def archive_community(
    community_id: uuid.UUID, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> object:
    return await communities.archive_community(
        session=session, outbox=outbox, tenant_id=caller.tenant_id, community_id=community_id
    )


@router.post(
    "/{community_id}/members",
    status_code=status.HTTP_201_CREATED,
    responses={202: {"model": JoinResult, "description": "Waitlisted (full) or pending an operator's approval."}},
)
async def join_community(
    community_id: uuid.UUID,
    body: JoinRequest,
    session: DbSession,
    outbox: EventOutbox,
    caller: CurrentIdentity,
    response: Response,
) -> JoinResult:
    result = await communities.join_community(
        session=session, outbox=outbox, tenant_id=caller.tenant_id, community_id=community_id, join=body
    )
    if result.status != "joined":
        response.status_code = status.HTTP_202_ACCEPTED
    return result


@router.delete("/{community_id}/members/{member_id}", status_code=status.HTTP_204_NO_CONTENT)
async def leave_community(
    community_id: uuid.UUID,
    member_id: uuid.UUID,
    session: DbSession,
    outbox: EventOutbox,
    caller: CurrentIdentity,
    reason: Annotated[
        Literal["left", "removed"], Query(description="`removed` when an operator takes them out")
    ] = "left",
) -> None:
    await communities.leave_community(
        session=session,
        outbox=outbox,
        tenant_id=caller.tenant_id,
        community_id=community_id,
        member_id=member_id,
        reason=reason,
    )


@router.get("/{community_id}/applications", response_model=list[ApplicationRead])
async def list_applications(
    community_id: uuid.UUID,
    session: DbSession,
    caller: CurrentIdentity,
    status: Literal["pending", "approved", "rejected"] | None = None,
) -> object:
    await communities.get_community(session=session, tenant_id=caller.tenant_id, community_id=community_id)
    return await entry.applications(session=session, community_id=community_id, status=status)


@router.post("/{community_id}/applications/{application_id}/approve", responses={202: {"model": JoinResult}})
async def approve_application(
    community_id: uuid.UUID,
    application_id: uuid.UUID,
    session: DbSession,
    outbox: EventOutbox,
    caller: CurrentIdentity,
    response: Response,
) -> JoinResult:
    result = await communities.decide_application(
        session=session,
        outbox=outbox,
        tenant_id=caller.tenant_id,
        community_id=community_id,
        application_id=application_id,
        approve=True,
        reason=None,
    )
    assert result is not None
    if result.status == "waitlisted":
        response.status_code = status.HTTP_202_ACCEPTED
    return result


@router.post("/{community_id}/applications/{application_id}/reject", status_code=status.HTTP_204_NO_CONTENT)
async def reject_application(
    community_id: uuid.UUID,
    application_id: uuid.UUID,
    body: Decision,
    session: DbSession,
    outbox: EventOutbox,
    caller: CurrentIdentity,
) -> None:
    await communities.decide_application(
        session=session,
        outbox=outbox,
        tenant_id=caller.tenant_id,
        community_id=community_id,
        application_id=application_id,
        approve=False,
        reason=body.reason,
    )
