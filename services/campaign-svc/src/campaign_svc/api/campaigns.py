"""Campaigns of every kind, their budget report, flash-sale attempts, group-buy teams and referral rewards."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from campaign_svc import campaigns, flash_sales, group_buys, referrals
from campaign_svc.dependencies import IdempotentRoute
from campaign_svc.schemas.campaigns import CampaignCreate, CampaignKind, CampaignRead, CampaignReport, CampaignStatus
from campaign_svc.schemas.orders import OrderRead
from campaign_svc.schemas.sales import (
    FlashSaleAttempt,
    FlashSaleStock,
    ReferralRewardRead,
    SeatRead,
    SeatTaken,
    TeamRead,
    TeamSeatRequest,
    TeamView,
)
from qunyun_shared.dependencies import CurrentIdentity, DbSession, EventOutbox
from qunyun_shared.idempotency import KEY_REQUIRED

router = APIRouter(prefix="/campaigns", tags=["campaigns"], route_class=IdempotentRoute)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a campaign; one that starts now runs at once")
async def create_campaign(
    body: CampaignCreate, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> CampaignRead:
    campaign = await campaigns.create_campaign(session, outbox, caller.tenant_id, body, datetime.now(UTC))
    return CampaignRead.model_validate(campaign)


@router.get("")
async def list_campaigns(
    session: DbSession,
    caller: CurrentIdentity,
    kind: CampaignKind | None = None,
    status: CampaignStatus | None = None,
    community_id: Annotated[
        uuid.UUID | None, Query(description="Only those run in this community or in every community.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[CampaignRead]:
    found = await campaigns.list_campaigns(session, caller.tenant_id, kind, status, limit, community_id)
    return [CampaignRead.model_validate(c) for c in found]


@router.get("/{campaign_id}")
async def get_campaign(campaign_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> CampaignRead:
    return CampaignRead.model_validate(await campaigns.get_campaign(session, caller.tenant_id, campaign_id))


@router.post("/{campaign_id}/stop", summary="End a campaign now")
async def stop_campaign(
    campaign_id: uuid.UUID, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> CampaignRead:
    return CampaignRead.model_validate(await campaigns.stop(session, outbox, caller.tenant_id, campaign_id))


@router.get("/{campaign_id}/report", summary="Budget, cost, attributed GMV and ROI")
async def report(campaign_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> CampaignReport:
    return await campaigns.report_of(session, caller.tenant_id, campaign_id)


@router.get("/{campaign_id}/flash-sale")
async def flash_sale_stock(campaign_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> FlashSaleStock:
    return FlashSaleStock.model_validate(await flash_sales.stock_of(session, caller.tenant_id, campaign_id))


@router.post(
    "/{campaign_id}/flash-sale/orders",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderRead,
    summary="Try to buy in a flash sale: an order, or 409 sold-out / purchase-limit-reached",
    dependencies=[KEY_REQUIRED],
)
async def buy_in_flash_sale(
    campaign_id: uuid.UUID,
    body: FlashSaleAttempt,
    session: DbSession,
    outbox: EventOutbox,
    caller: CurrentIdentity,
) -> OrderRead:
    order = await flash_sales.buy(
        session,
        outbox,
        caller.tenant_id,
        campaign_id,
        body.member_id,
        body.quantity,
        datetime.now(UTC),
        body.community_id,
    )
    return OrderRead.model_validate(order)


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
        session, outbox, caller.tenant_id, campaign_id, body.member_id, datetime.now(UTC)
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
        session, outbox, caller.tenant_id, campaign_id, team_id, body.member_id, datetime.now(UTC)
    )
    return SeatTaken(team=TeamRead.model_validate(team), order=OrderRead.model_validate(order))


@router.get("/{campaign_id}/teams/{team_id}")
async def get_team(campaign_id: uuid.UUID, team_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> TeamView:
    team = await group_buys.get_team(session, caller.tenant_id, campaign_id, team_id)
    seats = await group_buys.seats_of(session, team.id)
    return TeamView(team=TeamRead.model_validate(team), seats=[SeatRead.model_validate(s) for s in seats])


@router.get("/{campaign_id}/referral-rewards", summary="What inviters got in a referral campaign, and why not")
async def referral_rewards(
    campaign_id: uuid.UUID, session: DbSession, caller: CurrentIdentity, inviter_id: uuid.UUID | None = None
) -> list[ReferralRewardRead]:
    campaign = await campaigns.get_campaign(session, caller.tenant_id, campaign_id, kind="referral")
    return [ReferralRewardRead.model_validate(r) for r in await referrals.rewards_of(session, campaign, inviter_id)]
