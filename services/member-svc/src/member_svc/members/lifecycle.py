"""Member lifecycle per tenant — prospect → active (an order or an activity) → loyal (two orders or a friend
referred) — from the activity counted off events; and the value segment and churn-risk flag analytics-svc
judges. A churn-risk flag stands until the member orders or takes part in something after it was raised."""

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.members.models import Member, MemberActivity
from member_svc.tags import service as tags
from qunyun_shared.db import upsert
from qunyun_shared.events.analytics import MemberChurnRiskV1, MemberSegmentChangedV1
from qunyun_shared.outbox import Outbox

STAGES = ("prospect", "active", "loyal")


def stage_for(*, orders: int, participations: int, referrals: int) -> str:
    """The lifecycle stage the domain gives these counts."""
    if orders >= 2 or referrals >= 1:
        return "loyal"
    if orders >= 1 or participations >= 1:
        return "active"
    return "prospect"


async def record_order(*, session: AsyncSession, outbox: Outbox, member: Member, amount_fen: int, at: datetime) -> None:
    await _count(session, member, at, orders=1, order_total_fen=amount_fen)
    await _after_activity(session, outbox, member, at)


async def record_participation(*, session: AsyncSession, outbox: Outbox, member: Member, at: datetime) -> None:
    """An activity taken part in: a check-in or an answered survey."""
    await _count(session, member, at, participations=1)
    await _after_activity(session, outbox, member, at)


async def record_referral(*, session: AsyncSession, outbox: Outbox, inviter: Member) -> None:
    """The inviter brought someone in: that alone makes them loyal."""
    await _advance(session, inviter)
    await tags.apply_rules(session=session, outbox=outbox, tenant_id=inviter.tenant_id, member_ids=[inviter.id])


async def flag_churn_risk(
    *, session: AsyncSession, outbox: Outbox, member: Member, risk: MemberChurnRiskV1, at: datetime
) -> None:
    member.churn_risk, member.churn_score, member.churn_flagged_at = True, risk.score, at
    await tags.set_system(
        session=session,
        outbox=outbox,
        tenant_id=member.tenant_id,
        member_id=member.id,
        tag=tags.CHURN_RISK_TAG,
        present=True,
    )
    await tags.apply_rules(session=session, outbox=outbox, tenant_id=member.tenant_id, member_ids=[member.id])


async def record_segment(
    *, session: AsyncSession, outbox: Outbox, member: Member, change: MemberSegmentChangedV1
) -> None:
    tenant_id = member.tenant_id
    if member.segment is not None and member.segment != change.to_segment:
        await tags.set_system(
            session=session,
            outbox=outbox,
            tenant_id=tenant_id,
            member_id=member.id,
            tag=tags.segment_tag(member.segment),
            present=False,
        )
    member.segment = change.to_segment
    await tags.set_system(
        session=session,
        outbox=outbox,
        tenant_id=tenant_id,
        member_id=member.id,
        tag=tags.segment_tag(change.to_segment),
        present=True,
    )
    await tags.apply_rules(session=session, outbox=outbox, tenant_id=tenant_id, member_ids=[member.id])


async def _count(
    session: AsyncSession,
    member: Member,
    at: datetime,
    orders: int = 0,
    order_total_fen: int = 0,
    participations: int = 0,
) -> None:
    statement = upsert(session, MemberActivity).values(
        member_id=member.id,
        tenant_id=member.tenant_id,
        orders=orders,
        order_total_fen=order_total_fen,
        participations=participations,
        last_active_at=at,
    )
    excluded = statement.excluded
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["member_id"],
            set_={
                "orders": MemberActivity.orders + excluded.orders,
                "order_total_fen": MemberActivity.order_total_fen + excluded.order_total_fen,
                "participations": MemberActivity.participations + excluded.participations,
                "last_active_at": func.max(MemberActivity.last_active_at, excluded.last_active_at)
                if session.get_bind().dialect.name == "sqlite"
                else func.greatest(MemberActivity.last_active_at, excluded.last_active_at),
            },
        )
    )


async def _after_activity(session: AsyncSession, outbox: Outbox, member: Member, at: datetime) -> None:
    await _advance(session, member)
    if member.churn_risk and member.churn_flagged_at is not None and at > member.churn_flagged_at:
        member.churn_risk = False
        await tags.set_system(
            session=session,
            outbox=outbox,
            tenant_id=member.tenant_id,
            member_id=member.id,
            tag=tags.CHURN_RISK_TAG,
            present=False,
        )
    await tags.apply_rules(session=session, outbox=outbox, tenant_id=member.tenant_id, member_ids=[member.id])


async def _advance(session: AsyncSession, member: Member) -> None:
    """Moves the member forward to the stage their activity earns; a lifecycle never moves back."""
    activity = await session.get(MemberActivity, member.id, populate_existing=True)
    referrals = await session.scalar(select(func.count()).where(Member.invited_by == member.id))
    earned = stage_for(
        orders=activity.orders if activity else 0,
        participations=activity.participations if activity else 0,
        referrals=referrals or 0,
    )
    if STAGES.index(earned) > STAGES.index(member.lifecycle):
        member.lifecycle = earned
