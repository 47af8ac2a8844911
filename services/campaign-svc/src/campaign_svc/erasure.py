"""Erasure (PIPL): campaign-svc deletes what it knows of the member and replaces their id in orders,
coupons and rewards by a random one nobody keeps, so budgets, GMV and ROI stay true and nothing leads
back; the member is remembered only as erased, so a replayed event cannot bring them back."""

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.automation import service as automation
from campaign_svc.campaigns.models import MemberQuota
from campaign_svc.checkins import service as checkins
from campaign_svc.coupons.models import Coupon
from campaign_svc.db import ERASED_MEMBERS, IDEMPOTENCY_KEYS
from campaign_svc.experiments import service as experiments
from campaign_svc.group_buys.models import Seat, Team
from campaign_svc.lotteries import service as lotteries
from campaign_svc.members.models import Member
from campaign_svc.orders.models import Order
from campaign_svc.referrals.models import ReferralReward
from qunyun_shared import idempotency
from qunyun_shared.erasure import remember_erased


async def forget_members(*, session: AsyncSession, erased: Sequence[tuple[str, uuid.UUID]]) -> None:
    """Erases members from everything campaign-svc keeps (PIPL)."""
    await remember_erased(session, ERASED_MEMBERS, erased)
    await experiments.forget_members(session=session, erased=erased)
    await automation.forget_members(session=session, erased=erased)
    for tenant_id, member_id in erased:
        stranger = uuid.uuid4()
        await session.execute(delete(Member).where(Member.tenant_id == tenant_id, Member.member_id == member_id))
        await session.execute(
            update(Member).where(Member.tenant_id == tenant_id, Member.inviter_id == member_id).values(inviter_id=None)
        )
        await session.execute(delete(MemberQuota).where(MemberQuota.member_id == member_id))
        for owned in (Order, Coupon):
            await session.execute(
                update(owned)
                .where(owned.tenant_id == tenant_id, owned.member_id == member_id)
                .values(member_id=stranger)
            )
        await session.execute(
            update(Order).where(Order.tenant_id == tenant_id, Order.inviter_id == member_id).values(inviter_id=None)
        )
        await session.execute(update(Seat).where(Seat.member_id == member_id).values(member_id=stranger))
        await session.execute(
            update(Team).where(Team.tenant_id == tenant_id, Team.leader_id == member_id).values(leader_id=stranger)
        )
        for column in (ReferralReward.invitee_id, ReferralReward.inviter_id):
            await session.execute(
                update(ReferralReward)
                .where(ReferralReward.tenant_id == tenant_id, column == member_id)
                .values({column.key: stranger})
            )
        await lotteries.forget_member(session=session, tenant_id=tenant_id, member_id=member_id)
        await checkins.forget_member(session=session, tenant_id=tenant_id, member_id=member_id)
        # Causes and refusal notes are text that may name the member.
        await session.execute(
            update(Coupon)
            .where(Coupon.tenant_id == tenant_id, Coupon.source.contains(str(member_id)))
            .values(source=func.replace(Coupon.source, str(member_id), str(stranger)))
        )
        await session.execute(
            update(ReferralReward)
            .where(ReferralReward.tenant_id == tenant_id, ReferralReward.detail.contains(str(member_id)))
            .values(detail=func.replace(ReferralReward.detail, str(member_id), str(stranger)))
        )
        # Stored responses of money writes (an order, a coupon) name the member; a replay of one after
        # erasure is answered by nothing rather than by their data.
        await idempotency.forget_answers_naming(session, IDEMPOTENCY_KEYS, tenant_id=tenant_id, member_id=member_id)
