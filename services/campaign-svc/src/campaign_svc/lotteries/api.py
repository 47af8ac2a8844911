"""Routes for lotteries (抽奖): draws, a member's draws, and the audit anyone can re-check."""

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, status

from campaign_svc.dependencies import IdempotentRoute
from campaign_svc.lotteries import service as lotteries
from campaign_svc.lotteries.schemas import DrawCreate, DrawRead, LotteryAudit
from qunyun_shared.dependencies import CurrentIdentity, DbSession, EventOutbox
from qunyun_shared.idempotency import KEY_REQUIRED

router = APIRouter(prefix="/campaigns/{campaign_id}/lottery", tags=["lotteries"], route_class=IdempotentRoute)


@router.post(
    "/draws",
    status_code=status.HTTP_201_CREATED,
    response_model=DrawRead,
    summary="Draw once for a member, within their limit (an Idempotency-Key is required: prizes cost money)",
    dependencies=[KEY_REQUIRED],
)
async def draw(
    campaign_id: uuid.UUID,
    body: DrawCreate,
    session: DbSession,
    outbox: EventOutbox,
    caller: CurrentIdentity,
) -> DrawRead:
    return await lotteries.draw(
        session=session,
        outbox=outbox,
        tenant_id=caller.tenant_id,
        campaign_id=campaign_id,
        member_id=body.member_id,
        now=datetime.now(UTC),
    )


@router.get("/draws", summary="A member's draws, in the order drawn")
async def list_draws(
    campaign_id: uuid.UUID, member_id: uuid.UUID, session: DbSession, caller: CurrentIdentity
) -> list[DrawRead]:
    return await lotteries.draws_of(
        session=session, tenant_id=caller.tenant_id, campaign_id=campaign_id, member_id=member_id
    )


@router.get("/audit", summary="The seed's commitment (the seed once ended), the prizes and every draw, hash-chained")
async def audit(campaign_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> LotteryAudit:
    return await lotteries.audit_of(
        session=session, tenant_id=caller.tenant_id, campaign_id=campaign_id, now=datetime.now(UTC)
    )
