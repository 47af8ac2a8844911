"""Routes for group-buy teams: opened, joined, shown with their seats."""

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, status

from campaign_svc.dependencies import IdempotentRoute
from campaign_svc.group_buys import service as group_buys
from campaign_svc.group_buys.schemas import SeatRead, SeatTaken, TeamRead, TeamSeatRequest, TeamView
from campaign_svc.orders.schemas import OrderRead
from qunyun_shared.dependencies import CurrentIdentity, DbSession, EventOutbox
from qunyun_shared.idempotency import KEY_REQUIRED

router = APIRouter(prefix="/campaigns", tags=["campaigns"], route_class=IdempotentRoute)


@router.post(
    "/{campaign_id}/teams",
    status_code=status.HTTP_201_CREATED,
    response_model=SeatTaken,
    summary="Open a group-buy team, its leader's order placed",
    dependencies=[KEY_REQUIRED],
)
async def open_team(
    campaign_id: uuid.UUID,
    body: TeamSeatRequest,
    session: DbSession,
    outbox: EventOutbox,
    caller: CurrentIdentity,
) -> SeatTaken:
    team, order = await group_buys.open_team(
        session=session,
        outbox=outbox,
        tenant_id=caller.tenant_id,
        campaign_id=campaign_id,
        member_id=body.member_id,
        now=datetime.now(UTC),
    )
    return SeatTaken(team=TeamRead.model_validate(team), order=OrderRead.model_validate(order))


@router.post(
    "/{campaign_id}/teams/{team_id}/members",
    status_code=status.HTTP_201_CREATED,
    response_model=SeatTaken,
    summary="Join a group-buy team; the last seat completes it",
    dependencies=[KEY_REQUIRED],
)
async def join_team(
    campaign_id: uuid.UUID,
    team_id: uuid.UUID,
    body: TeamSeatRequest,
    session: DbSession,
    outbox: EventOutbox,
    caller: CurrentIdentity,
) -> SeatTaken:
    team, order = await group_buys.join_team(
        session=session,
        outbox=outbox,
        tenant_id=caller.tenant_id,
        campaign_id=campaign_id,
        team_id=team_id,
        member_id=body.member_id,
        now=datetime.now(UTC),
    )
    return SeatTaken(team=TeamRead.model_validate(team), order=OrderRead.model_validate(order))


@router.get("/{campaign_id}/teams/{team_id}")
async def get_team(campaign_id: uuid.UUID, team_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> TeamView:
    team = await group_buys.get_team(
        session=session, tenant_id=caller.tenant_id, campaign_id=campaign_id, team_id=team_id
    )
    seats = await group_buys.seats_of(session=session, team_id=team.id)
    return TeamView(team=TeamRead.model_validate(team), seats=[SeatRead.model_validate(s) for s in seats])
