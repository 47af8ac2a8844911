"""Rewards campaigns grant members: coupons are issued here, points and tags are member-svc's to apply."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.coupons import service as coupons
from campaign_svc.rewards.schemas import GrantedReward, Reward
from qunyun_shared.events.campaign import RewardGrantedV1
from qunyun_shared.outbox import Outbox

_REWARD_IDS = uuid.UUID("0b5e5f0e-3c1a-4f55-9d55-6d1f2b7e4a10")


def reward_id_for(tenant_id: str, source: str) -> uuid.UUID:
    """One id per cause: granting again for the same cause (a redelivered event) is recognisably the same."""
    return uuid.uuid5(_REWARD_IDS, f"{tenant_id}:{source}")


async def grant(
    *,
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    member_id: uuid.UUID,
    reward: Reward,
    campaign_id: uuid.UUID | None,
    source: str,
    reason: str,
    now: datetime,
) -> GrantedReward:
    """Grants a reward once per `source`. A coupon that cannot be issued (stock, limit, budget) raises,
    and then no part of the reward is granted."""
    granted = GrantedReward(reward_id=reward_id_for(tenant_id, source), points=reward.points, tag=reward.tag)
    if reward.coupon_template_id is not None:
        coupon = await coupons.issue(
            session=session,
            outbox=outbox,
            tenant_id=tenant_id,
            template_id=reward.coupon_template_id,
            member_id=member_id,
            source=source,
            now=now,
        )
        granted.coupon_id = coupon.id
    if reward.points or reward.tag:
        told = RewardGrantedV1(
            reward_id=granted.reward_id,
            member_id=member_id,
            campaign_id=campaign_id,
            points=reward.points,
            tag=reward.tag,
            reason=reason,
        )
        await outbox.add(session, tenant_id=tenant_id, payloads=[told])
    return granted
