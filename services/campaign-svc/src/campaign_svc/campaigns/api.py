"""Routes for campaigns of every kind: created, listed, stopped, and their budget report."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from campaign_svc.campaigns import service as campaigns
from campaign_svc.campaigns.schemas import CampaignCreate, CampaignKind, CampaignRead, CampaignReport, CampaignStatus
from campaign_svc.dependencies import IdempotentRoute
from qunyun_shared.dependencies import CurrentIdentity, DbSession, EventOutbox

router = APIRouter(prefix="/campaigns", tags=["campaigns"], route_class=IdempotentRoute)


@router.post("", status_code=status.HTTP_201_CREATED, summary="Create a campaign; one that starts now runs at once")
async def create_campaign(
    body: CampaignCreate, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> CampaignRead:
    campaign = await campaigns.create_campaign(
        session=session, outbox=outbox, tenant_id=caller.tenant_id, campaign_in=body, now=datetime.now(UTC)
    )
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
    found = await campaigns.list_campaigns(
        session=session, tenant_id=caller.tenant_id, kind=kind, status=status, limit=limit, community_id=community_id
    )
    return [CampaignRead.model_validate(c) for c in found]


@router.get("/{campaign_id}")
async def get_campaign(campaign_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> CampaignRead:
    return CampaignRead.model_validate(
        await campaigns.get_campaign(session=session, tenant_id=caller.tenant_id, campaign_id=campaign_id)
    )


@router.post("/{campaign_id}/stop", summary="End a campaign now")
async def stop_campaign(
    campaign_id: uuid.UUID, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> CampaignRead:
    return CampaignRead.model_validate(
        await campaigns.stop(session=session, outbox=outbox, tenant_id=caller.tenant_id, campaign_id=campaign_id)
    )


@router.get("/{campaign_id}/report", summary="Budget, cost, attributed GMV and ROI")
async def report(campaign_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> CampaignReport:
    return await campaigns.report_of(session=session, tenant_id=caller.tenant_id, campaign_id=campaign_id)
