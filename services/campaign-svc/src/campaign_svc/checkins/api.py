"""Routes for check-in challenges (21-day 打卡)."""

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, status

from campaign_svc.checkins import history
from campaign_svc.checkins import service as checkins
from campaign_svc.checkins.schemas import CheckinCreate, CheckinHistoryBatch, CheckinProgress, CheckinRead
from campaign_svc.dependencies import IdempotentRoute
from qunyun_shared.dependencies import COLLECTION_HELD_BACK, CurrentIdentity, DbSession, EventOutbox
from qunyun_shared.history import HistoryBatchRead

router = APIRouter(prefix="/campaigns/{campaign_id}/checkins", tags=["check-ins"], route_class=IdempotentRoute)


@router.post("", status_code=status.HTTP_201_CREATED, summary="A member checks in for today (the tenant's local day)")
async def check_in(
    campaign_id: uuid.UUID, body: CheckinCreate, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> CheckinRead:
    return await checkins.check_in(
        session=session,
        outbox=outbox,
        tenant_id=caller.tenant_id,
        campaign_id=campaign_id,
        member_id=body.member_id,
        now=datetime.now(UTC),
    )


@router.post(
    "/history",
    dependencies=[COLLECTION_HELD_BACK],
    summary="Import check-ins from the merchant's history (at most 1,000 a batch), within the campaign's dates: "
    "one per member and local day (the same day again is unchanged), streaks as live check-ins would make them, "
    "no milestone rewards, the events say imported",
)
async def import_checkin_history(
    campaign_id: uuid.UUID, body: CheckinHistoryBatch, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> HistoryBatchRead:
    return await history.import_checkins(
        session=session, outbox=outbox, tenant_id=caller.tenant_id, campaign_id=campaign_id, rows=body.checkins
    )


@router.get("/{member_id}", summary="A member's progress: days checked in, streaks, milestones reached")
async def progress(
    campaign_id: uuid.UUID, member_id: uuid.UUID, session: DbSession, caller: CurrentIdentity
) -> CheckinProgress:
    return await checkins.progress_of(
        session=session, tenant_id=caller.tenant_id, campaign_id=campaign_id, member_id=member_id, now=datetime.now(UTC)
    )
