"""Member lifecycle per tenant — prospect → active (an order or an activity) → loyal (two orders or a friend
referred) — from the activity counted off events; and the value segment and churn-risk flag analytics-svc
judges. A churn-risk flag stands until analytics-svc clears it (`member.churn_risk` with `flagged` false), or
the member orders or takes part in something after it was raised."""

import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.members.models import Member, MemberActivity
from member_svc.tags import service as tags
from qunyun_shared.db import insert_rows, one_of, upsert
from qunyun_shared.events.analytics import MemberChurnRiskV1, MemberSegmentChangedV1
from qunyun_shared.outbox import Outbox

STAGES = ("prospect", "active", "loyal")
_ACTIVITY = cast(Table, MemberActivity.__table__)


def stage_for(*, orders: int, participations: int, referrals: int) -> str:
    """The lifecycle stage the domain gives these counts."""
    if orders >= 2 or referrals >= 1:
        return "loyal"
    if orders >= 1 or participations >= 1:
        return "active"
    return "prospect"


async def record_orders(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, orders: Sequence[tuple[Member, int, datetime]]
) -> None:
    """Orders of the tenant's members (each with its amount and time), counted for a batch at once: one upsert
    of their activity, one read of it back, one count of referrals for those it may still decide."""
    if not orders:
        return
    totals: dict[uuid.UUID, list[Any]] = {}
    for member, amount_fen, at in orders:
        total = totals.setdefault(member.id, [member, 0, 0, at])
        total[1], total[2], total[3] = total[1] + 1, total[2] + amount_fen, max(total[3], at)
    rows = [
        {"member_id": m.id, "tenant_id": tenant_id, "orders": n, "order_total_fen": fen, "participations": 0,
         "last_active_at": at}
        for m, n, fen, at in sorted(totals.values(), key=lambda total: total[0].id)
    ]  # fmt: skip
    statement, parameters = insert_rows(session, _ACTIVITY, rows)
    await session.execute(_adding_up(session, statement), parameters)
    members = [member for member, *_ in totals.values()]
    await _advance_all(session, members)
    for member, *_, at in totals.values():
        await _clear_churn_risk(session, outbox, member, at)
    await tags.apply_rules(session=session, outbox=outbox, tenant_id=tenant_id, member_ids=list(totals))


async def record_participation(*, session: AsyncSession, outbox: Outbox, member: Member, at: datetime | None) -> None:
    """An activity taken part in: a check-in or an answered survey; `at` None when it is not known when (an
    imported answer says only that it was given), which counts it without making the member active lately."""
    await _count(session, member, at, participations=1)
    await _advance(session, member)
    if at is not None:
        await _clear_churn_risk(session, outbox, member, at)
    await tags.apply_rules(session=session, outbox=outbox, tenant_id=member.tenant_id, member_ids=[member.id])


async def record_referrals(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, inviters: Sequence[Member]
) -> None:
    """The tenant's inviters brought someone in: that alone makes them loyal."""
    if not inviters:
        return
    await _advance_all(session, inviters)
    await tags.apply_rules(session=session, outbox=outbox, tenant_id=tenant_id, member_ids=[m.id for m in inviters])


async def flag_churn_risk(
    *, session: AsyncSession, outbox: Outbox, member: Member, risk: MemberChurnRiskV1, at: datetime
) -> None:
    """The member's churn-risk flag as analytics-svc judged it: raised, or cleared (`risk.flagged` false)."""
    member.churn_score = risk.score
    if not risk.flagged:
        if member.churn_risk:
            await _unflag(session, outbox, member)
            await tags.apply_rules(session=session, outbox=outbox, tenant_id=member.tenant_id, member_ids=[member.id])
        return
    member.churn_risk, member.churn_flagged_at = True, at
    await tags.set_system(
        session=session,
        outbox=outbox,
        tenant_id=member.tenant_id,
        member_id=member.id,
        tag=tags.CHURN_RISK_TAG,
        present=True,
    )
    await tags.apply_rules(session=session, outbox=outbox, tenant_id=member.tenant_id, member_ids=[member.id])


async def record_segments(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, changes: Sequence[tuple[Member, MemberSegmentChangedV1]]
) -> None:
    """The tenant's members' value segments as analytics-svc judged them, in their order, each with its system tag
    and the rules applied again: a run at once, in waves holding each member at most once (a member who changes
    twice is tagged as at each change)."""
    for wave in _waves(changes):
        left: dict[str, list[uuid.UUID]] = {}
        entered: dict[str, list[uuid.UUID]] = {}
        for member, change in wave:
            if member.segment is not None and member.segment != change.to_segment:
                left.setdefault(tags.segment_tag(member.segment), []).append(member.id)
            member.segment = change.to_segment
            entered.setdefault(tags.segment_tag(change.to_segment), []).append(member.id)
        for moves, present in ((left, False), (entered, True)):
            for tag, member_ids in moves.items():
                await tags.set_system_on(
                    session=session, outbox=outbox, tenant_id=tenant_id, member_ids=member_ids, tag=tag, present=present
                )
        await tags.apply_rules(session=session, outbox=outbox, tenant_id=tenant_id, member_ids=[m.id for m, _ in wave])


_Change = tuple[Member, MemberSegmentChangedV1]


def _waves(changes: Sequence[_Change]) -> list[list[_Change]]:
    """The changes in waves holding each member at most once, each member's in their order."""
    waves: list[list[_Change]] = []
    seen: Counter[uuid.UUID] = Counter()
    for member, change in changes:
        wave = seen[member.id]
        seen[member.id] += 1
        if wave == len(waves):
            waves.append([])
        waves[wave].append((member, change))
    return waves


async def _count(
    session: AsyncSession,
    member: Member,
    at: datetime | None,
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
    await session.execute(_adding_up(session, statement, dated=at is not None))


def _adding_up(session: AsyncSession, statement: Any, *, dated: bool = True) -> Any:
    """The activity upsert: counts added to a member's row, the latest activity kept (unless not `dated`)."""
    excluded = statement.excluded
    # A row may have no activity time yet (only undated participations): SQLite's max() of a NULL is NULL,
    # PostgreSQL's greatest() passes over it.
    latest = (
        func.max(func.coalesce(MemberActivity.last_active_at, excluded.last_active_at), excluded.last_active_at)
        if session.get_bind().dialect.name == "sqlite"
        else func.greatest(MemberActivity.last_active_at, excluded.last_active_at)
    )
    return statement.on_conflict_do_update(
        index_elements=["member_id"],
        set_={
            "orders": MemberActivity.orders + excluded.orders,
            "order_total_fen": MemberActivity.order_total_fen + excluded.order_total_fen,
            "participations": MemberActivity.participations + excluded.participations,
            **({"last_active_at": latest} if dated else {}),
        },
    )


async def _clear_churn_risk(session: AsyncSession, outbox: Outbox, member: Member, at: datetime) -> None:
    """Activity after the churn-risk flag was raised clears it."""
    if member.churn_risk and member.churn_flagged_at is not None and at > member.churn_flagged_at:
        await _unflag(session, outbox, member)


async def _unflag(session: AsyncSession, outbox: Outbox, member: Member) -> None:
    member.churn_risk = False
    await tags.set_system(
        session=session,
        outbox=outbox,
        tenant_id=member.tenant_id,
        member_id=member.id,
        tag=tags.CHURN_RISK_TAG,
        present=False,
    )


async def _advance(session: AsyncSession, member: Member) -> None:
    """Moves the member forward to the stage their activity earns; a lifecycle never moves back."""
    await _advance_all(session, [member])


async def _advance_all(session: AsyncSession, members: Sequence[Member]) -> None:
    """Moves members forward to the stage their activity earns; a lifecycle never moves back. Referrals are
    counted only for those whom their activity alone does not make loyal."""
    climbing = {member.id: member for member in members if member.lifecycle != STAGES[-1]}
    if not climbing:
        return
    activities = await session.scalars(
        select(MemberActivity)
        .where(one_of(session, MemberActivity.member_id, list(climbing)))
        .execution_options(populate_existing=True)
    )
    done = {a.member_id: (a.orders, a.participations) for a in activities.all()}
    undecided = [
        m for m in climbing if stage_for(orders=done.get(m, (0, 0))[0], participations=0, referrals=0) != STAGES[-1]
    ]
    referred: dict[uuid.UUID, int] = {}
    if undecided:
        counted = await session.execute(
            select(Member.invited_by, func.count())
            .where(one_of(session, Member.invited_by, undecided))
            .group_by(Member.invited_by)
        )
        referred = {inviter: count for inviter, count in counted.all() if inviter is not None}
    for member_id, member in climbing.items():
        orders, participations = done.get(member_id, (0, 0))
        earned = stage_for(orders=orders, participations=participations, referrals=referred.get(member_id, 0))
        if STAGES.index(earned) > STAGES.index(member.lifecycle):
            member.lifecycle = earned
