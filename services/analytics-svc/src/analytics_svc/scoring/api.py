"""A member's scores, the tenant's segments, and the full recompute."""

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter

from analytics_svc.dependencies import IdempotentRoute
from analytics_svc.scoring import service
from analytics_svc.scoring.schemas import MemberScores, Recomputed, SegmentCount
from qunyun_shared.dependencies import CurrentIdentity, DbSession, EventOutbox

router = APIRouter(prefix="/analytics", tags=["segments"], route_class=IdempotentRoute)


@router.get("/members/{member_id}", summary="A member's RFM scores, segment, churn risk and lifetime value")
async def member_scores(member_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> MemberScores:
    return await service.member_scores(
        session=session, tenant_id=caller.tenant_id, member_id=member_id, now=datetime.now(UTC)
    )


@router.get("/segments", summary="Members per value segment")
async def segment_counts(session: DbSession, caller: CurrentIdentity) -> list[SegmentCount]:
    return await service.segment_counts(session=session, tenant_id=caller.tenant_id)


@router.post(
    "/segments/recompute",
    summary="Refit the tenant's model (quintiles, BG/NBD, Gamma-Gamma) and rescore every member now",
    description="Needs the analytics:write permission; 409 while a recompute of the tenant is running.",
)
async def recompute(session: DbSession, outbox: EventOutbox, caller: CurrentIdentity) -> Recomputed:
    return await service.recompute_segments(session=session, outbox=outbox, caller=caller, now=datetime.now(UTC))
