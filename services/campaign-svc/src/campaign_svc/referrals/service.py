"""Referral fission (裂变): a running referral campaign rewards the inviter when the invitee first joins,
and again on the invitee's first paid order; never for a self-invite or a cycle, never past the cap."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.campaigns import quotas
from campaign_svc.campaigns import service as campaigns
from campaign_svc.campaigns.models import Campaign
from campaign_svc.members.models import Member
from campaign_svc.orders.models import Order
from campaign_svc.referrals.models import ReferralReward
from campaign_svc.referrals.schemas import ReferralSettings
from campaign_svc.rewards import service as rewards
from campaign_svc.rewards.schemas import Reward
from qunyun_shared.events.campaign import OrderPaidV1
from qunyun_shared.events.member import MemberJoinedV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.problems import DomainError

# Deeper than any real invitation chain; it only bounds the walk over a corrupted one.
_MAX_CHAIN = 1_000


async def on_joins(*, session: AsyncSession, outbox: Outbox, joins: Sequence[tuple[str, MemberJoinedV1]]) -> None:
    """Rewards inviters for first joins (after `members.record_joins` has kept them)."""
    for tenant_id, join in joins:
        if join.inviter_id is None:
            continue
        member = await session.get(Member, join.member_id)
        if (
            member is None
            or member.tenant_id != tenant_id
            or member.inviter_id != join.inviter_id
            or member.first_joined_at != join.joined_at
        ):
            continue  # not the member's first join, or the member was erased
        for campaign in await campaigns.running_of_kind(
            session=session, tenant_id=tenant_id, kind="referral", now=join.joined_at
        ):
            settings = ReferralSettings.model_validate(campaign.settings)
            await _reward(session, outbox, campaign, settings, settings.join_reward, member, "join", join.joined_at)


async def on_paid_orders(*, session: AsyncSession, outbox: Outbox, paid: Sequence[tuple[str, OrderPaidV1]]) -> None:
    """Rewards inviters for their invitees' first paid orders."""
    for tenant_id, payment in paid:
        first_paid = await session.scalar(
            select(Order.id)
            .where(Order.tenant_id == tenant_id, Order.member_id == payment.member_id, Order.paid_at.is_not(None))
            .order_by(Order.paid_at, Order.id)
            .limit(1)
        )
        member = await session.get(Member, payment.member_id)
        if first_paid != payment.order_id or member is None or member.tenant_id != tenant_id:
            continue
        if member.inviter_id is None:
            continue
        for campaign in await campaigns.running_of_kind(
            session=session, tenant_id=tenant_id, kind="referral", now=payment.paid_at
        ):
            settings = ReferralSettings.model_validate(campaign.settings)
            reward = settings.first_order_reward
            await _reward(session, outbox, campaign, settings, reward, member, "first_order", payment.paid_at)


async def _reward(
    session: AsyncSession,
    outbox: Outbox,
    campaign: Campaign,
    settings: ReferralSettings,
    reward: Reward | None,
    invitee: Member,
    stage: str,
    at: datetime,
) -> None:
    inviter_id = invitee.inviter_id
    if reward is None or inviter_id is None:
        return
    if await session.get(ReferralReward, (campaign.id, invitee.member_id, stage)) is not None:
        return  # the event was delivered again
    record = ReferralReward(
        campaign_id=campaign.id,
        invitee_id=invitee.member_id,
        stage=stage,
        tenant_id=campaign.tenant_id,
        inviter_id=inviter_id,
        outcome="rewarded",
        at=at,
    )
    if inviter_id == invitee.member_id or await _invited_by(session, inviter_id, invitee.member_id):
        record.outcome, record.detail = "cycle", "the inviter was brought in by the invitee"
    else:
        try:
            async with session.begin_nested():
                # The cap is a quota of the inviter's in this campaign, so concurrent invitees cannot pass it.
                if not await quotas.claim(
                    session=session,
                    scope_id=campaign.id,
                    member_id=inviter_id,
                    amount=1,
                    limit=settings.max_rewards_per_inviter,
                ):
                    record.outcome = "capped"
                    record.detail = f"{settings.max_rewards_per_inviter} rewards per inviter"
                else:
                    granted = await rewards.grant(
                        session=session,
                        outbox=outbox,
                        tenant_id=campaign.tenant_id,
                        member_id=inviter_id,
                        reward=reward,
                        campaign_id=campaign.id,
                        source=f"referral:{campaign.id}:{invitee.member_id}:{stage}",
                        reason=f"referral_{stage}",
                        now=at,
                    )
                    record.coupon_id = granted.coupon_id
        except DomainError as refused:
            record.outcome, record.detail = "failed", refused.detail[:300]
    session.add(record)
    await session.flush()


async def _invited_by(session: AsyncSession, member_id: uuid.UUID, ancestor: uuid.UUID) -> bool:
    """Whether `ancestor` is up `member_id`'s chain of inviters."""
    current: uuid.UUID | None = member_id
    for _ in range(_MAX_CHAIN):
        current = await session.scalar(select(Member.inviter_id).where(Member.member_id == current))
        if current is None:
            return False
        if current == ancestor:
            return True
    return True


async def rewards_of(
    *, session: AsyncSession, campaign: Campaign, inviter_id: uuid.UUID | None
) -> list[ReferralReward]:
    """What inviters got in a referral campaign (one inviter's, if given), newest first."""
    query = select(ReferralReward).where(ReferralReward.campaign_id == campaign.id)
    if inviter_id is not None:
        query = query.where(ReferralReward.inviter_id == inviter_id)
    return list(await session.scalars(query.order_by(ReferralReward.at.desc()).limit(500)))
