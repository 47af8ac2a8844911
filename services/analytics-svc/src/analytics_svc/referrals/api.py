"""What referrals brought over a range of days."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from analytics_svc.dependencies import IdempotentRoute
from analytics_svc.referrals import service as referrals
from analytics_svc.referrals.schemas import ReferralsRead
from qunyun_shared.dependencies import CurrentIdentity, DbSession

# Under the cohorts tag, where the API document has always listed it.
router = APIRouter(prefix="/analytics", tags=["cohorts"], route_class=IdempotentRoute)

Start = Annotated[date, Query(alias="from")]
End = Annotated[date, Query(alias="to")]


@router.get(
    "/referrals",
    summary="Invitations, joins and first orders per inviter; tree depth; K-factor of the tenant, its communities "
    "and its referral campaigns",
)
async def referral_reach(
    start: Start,
    end: End,
    session: DbSession,
    caller: CurrentIdentity,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> ReferralsRead:
    return ReferralsRead.model_validate(
        await referrals.referrals(session=session, tenant_id=caller.tenant_id, start=start, end=end, limit=limit)
    )
