"""Routes for referral campaigns: what inviters got, and why not."""

import uuid

from fastapi import APIRouter

from campaign_svc.campaigns import service as campaigns
from campaign_svc.dependencies import IdempotentRoute
from campaign_svc.referrals import service as referrals
from campaign_svc.referrals.schemas import ReferralRewardRead
from qunyun_shared.dependencies import CurrentIdentity, DbSession

router = APIRouter(prefix="/campaigns", tags=["campaigns"], route_class=IdempotentRoute)


@router.get("/{campaign_id}/referral-rewards", summary="What inviters got in a referral campaign, and why not")
async def referral_rewards(
    campaign_id: uuid.UUID, session: DbSession, caller: CurrentIdentity, inviter_id: uuid.UUID | None = None
) -> list[ReferralRewardRead]:
    campaign = await campaigns.get_campaign(
        session=session, tenant_id=caller.tenant_id, campaign_id=campaign_id, kind="referral"
    )
    return [
        ReferralRewardRead.model_validate(r)
        for r in await referrals.rewards_of(session=session, campaign=campaign, inviter_id=inviter_id)
    ]
