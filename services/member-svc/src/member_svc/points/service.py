"""Points: an append-only ledger, a balance that never goes negative, and levels that follow lifetime
points (their ladder is the tenant's policy, `points.policy`).

Every change of one member's points runs under their account row's lock, so concurrent earns and spends
apply one after the other and `balance - debt` stays the sum of the ledger. Earned lines are lots spent
oldest expiry first; what is left of a lot when it expires leaves the balance with an `expiry` line.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.exceptions import IdempotencyKeyReused, InsufficientPoints
from member_svc.members.models import Member
from member_svc.points.models import PointsAccount, PointsEntry
from member_svc.points.policy import Policy, move_level, policy_of
from qunyun_shared.db import upsert
from qunyun_shared.events.member import MemberPointsChangedV1
from qunyun_shared.outbox import Outbox


class PointsChanger(Protocol):
    """`grant` and `spend`: a change an operator or member asks for, by an optional idempotency key."""

    async def __call__(
        self,
        *,
        session: AsyncSession,
        outbox: Outbox,
        tenant_id: str,
        member_id: uuid.UUID,
        points: int,
        note: str | None,
        idempotency_key: str | None,
        at: datetime,
    ) -> PointsEntry: ...


@dataclass(frozen=True)
class Earning:
    """Points a member earns for something that happened; `source` names it, so it earns once."""

    member_id: uuid.UUID
    reason: str
    points: int
    source: str
    at: datetime
    note: str | None = None
    order_id: uuid.UUID | None = None
    order_amount_fen: int | None = None


async def earn(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, earning: Earning, policy: Policy | None = None
) -> PointsEntry | None:
    """Credits an earning, unless its source earned already or the day's limit for it is reached.
    `policy` is the tenant's, when the caller has read it already."""
    if earning.points <= 0:
        return None
    policy = policy or await policy_of(session=session, tenant_id=tenant_id)
    account = await _locked_account(session, tenant_id, earning.member_id, earning.at)
    if await _recorded(session, tenant_id, earning.source) is not None:
        return None
    if not await _within_daily_limit(session, policy, earning):
        return None
    paid_debt = min(account.debt, earning.points)
    account.debt -= paid_debt
    account.balance += earning.points - paid_debt
    account.lifetime += earning.points
    expiry = policy.rules.expiry_days
    entry = PointsEntry(
        tenant_id=tenant_id,
        member_id=earning.member_id,
        delta=earning.points,
        reason=earning.reason,
        note=earning.note,
        source=earning.source,
        order_id=earning.order_id,
        order_amount_fen=earning.order_amount_fen,
        remaining=earning.points - paid_debt,
        expires_at=earning.at + timedelta(days=expiry) if expiry is not None else None,
        at=earning.at,
    )
    await _record(session, outbox, account, entry, policy)
    return entry


async def grant(
    *,
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    member_id: uuid.UUID,
    points: int,
    note: str | None,
    idempotency_key: str | None,
    at: datetime,
) -> PointsEntry:
    """Points an operator grants by hand (goodwill, corrections); a repeated idempotency key returns the first grant."""
    source = f"grant:{member_id}:{idempotency_key or uuid.uuid4()}"
    earning = Earning(member_id=member_id, reason="grant", points=points, source=source, at=at, note=note)
    entry = await earn(session=session, outbox=outbox, tenant_id=tenant_id, earning=earning)
    if entry is not None:
        return entry
    earlier = await _recorded(session, tenant_id, source)
    assert earlier is not None
    if earlier.delta != points or earlier.note != note:
        raise IdempotencyKeyReused("This Idempotency-Key was used for another grant.")
    return earlier


async def spend(
    *,
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    member_id: uuid.UUID,
    points: int,
    note: str | None,
    idempotency_key: str | None,
    at: datetime,
) -> PointsEntry:
    """Redeems points, oldest-expiring first; more than the balance is refused and changes nothing.
    A repeated idempotency key returns the first spend."""
    source = f"spend:{member_id}:{idempotency_key}" if idempotency_key else None
    account = await _locked_account(session, tenant_id, member_id, at)
    earlier = await _recorded(session, tenant_id, source)
    if earlier is not None:
        if earlier.delta != -points or earlier.note != note:
            raise IdempotencyKeyReused("This Idempotency-Key was used for another spend.")
        return earlier
    if points > account.balance:
        raise InsufficientPoints(
            f"Spending {points} points needs more than the balance of {account.balance}.",
            balance=account.balance,
        )
    await _take_from_lots(session, member_id, points)
    account.balance -= points
    entry = PointsEntry(
        tenant_id=tenant_id, member_id=member_id, delta=-points, reason="spend", note=note, source=source, at=at
    )
    await _record(session, outbox, account, entry, await policy_of(session=session, tenant_id=tenant_id))
    return entry


async def claw_back(
    *,
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    member_id: uuid.UUID,
    order_id: uuid.UUID,
    refunded_fen: int,
    source: str,
    at: datetime,
) -> PointsEntry | None:
    """Takes back what a refunded order earned, in proportion to the refund. Points already spent stay
    spent: the part the balance cannot cover becomes debt, so the balance never goes below zero."""
    account = await _locked_account(session, tenant_id, member_id, at)
    if await _recorded(session, tenant_id, source) is not None:
        return None
    earned = await session.scalar(
        select(PointsEntry).where(
            PointsEntry.member_id == member_id, PointsEntry.order_id == order_id, PointsEntry.reason == "order"
        )
    )
    if earned is None or not earned.order_amount_fen:
        return None
    clawed = -(
        await session.scalar(
            select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(
                PointsEntry.member_id == member_id, PointsEntry.order_id == order_id, PointsEntry.reason == "clawback"
            )
        )
        or 0
    )
    owed = min(
        earned.delta - clawed, earned.delta * min(refunded_fen, earned.order_amount_fen) // earned.order_amount_fen
    )
    if owed <= 0:
        return None
    covered = min(owed, account.balance)
    await _take_from_lots(session, member_id, covered)
    account.balance -= covered
    account.debt += owed - covered
    account.lifetime -= owed
    entry = PointsEntry(
        tenant_id=tenant_id,
        member_id=member_id,
        delta=-owed,
        reason="clawback",
        source=source,
        order_id=order_id,
        at=at,
    )
    await _record(session, outbox, account, entry, await policy_of(session=session, tenant_id=tenant_id))
    return entry


async def expire_due(*, session: AsyncSession, outbox: Outbox, now: datetime, members: int = 500) -> int:
    """Expires the lots whose time has come, for up to `members` members; returns how many lots expired.
    Accounts another transaction holds are skipped (SKIP LOCKED) and expire on the next sweep."""
    due = select(PointsEntry.member_id).where(PointsEntry.remaining > 0, PointsEntry.expires_at <= now).distinct()
    accounts = (
        await session.scalars(
            select(PointsAccount)
            .where(PointsAccount.member_id.in_(due.limit(members).scalar_subquery()))
            .with_for_update(skip_locked=True)
        )
    ).all()
    expired = 0
    for account in accounts:
        lots = (
            await session.scalars(
                select(PointsEntry)
                .where(
                    PointsEntry.member_id == account.member_id, PointsEntry.remaining > 0, PointsEntry.expires_at <= now
                )
                .order_by(PointsEntry.expires_at)
            )
        ).all()
        policy = await policy_of(session=session, tenant_id=account.tenant_id)
        for lot in lots:
            assert lot.remaining is not None
            lost, lot.remaining = lot.remaining, 0
            account.balance -= lost
            entry = PointsEntry(
                tenant_id=account.tenant_id,
                member_id=account.member_id,
                delta=-lost,
                reason="expiry",
                source=f"expiry:{lot.id}",
                at=now,
            )
            await _record(session, outbox, account, entry, policy)
            expired += 1
    return expired


async def _locked_account(session: AsyncSession, tenant_id: str, member_id: uuid.UUID, at: datetime) -> PointsAccount:
    """The member's account, created at first use, locked until the transaction ends."""
    await session.execute(
        upsert(session, PointsAccount)
        .values(member_id=member_id, tenant_id=tenant_id, balance=0, debt=0, lifetime=0, updated_at=at)
        .on_conflict_do_nothing(index_elements=["member_id"])
    )
    account = await session.get(PointsAccount, member_id, with_for_update=True, populate_existing=True)
    assert account is not None and account.tenant_id == tenant_id
    return account


async def _recorded(session: AsyncSession, tenant_id: str, source: str | None) -> PointsEntry | None:
    if source is None:
        return None
    return await session.scalar(
        select(PointsEntry).where(PointsEntry.tenant_id == tenant_id, PointsEntry.source == source)
    )


async def _within_daily_limit(session: AsyncSession, policy: Policy, earning: Earning) -> bool:
    limit = policy.daily_limit(earning.reason)
    if limit is None:
        return True
    earned_today = await session.scalar(
        select(func.count())
        .select_from(PointsEntry)
        .where(
            PointsEntry.member_id == earning.member_id,
            PointsEntry.reason == earning.reason,
            PointsEntry.at >= policy.day_start(earning.at),
            PointsEntry.at < policy.day_start(earning.at) + timedelta(days=1),
        )
    )
    return (earned_today or 0) < limit


async def _take_from_lots(session: AsyncSession, member_id: uuid.UUID, points: int) -> None:
    """Uses up `points` from the member's lots, the soonest to expire first (never-expiring ones last)."""
    lots = await session.scalars(
        select(PointsEntry)
        .where(PointsEntry.member_id == member_id, PointsEntry.remaining > 0)
        .order_by(PointsEntry.expires_at.is_(None), PointsEntry.expires_at, PointsEntry.at)
    )
    for lot in lots:
        if points == 0:
            break
        assert lot.remaining is not None
        taken = min(points, lot.remaining)
        lot.remaining -= taken
        points -= taken
    assert points == 0, "lots hold less than the balance"


async def _record(
    session: AsyncSession, outbox: Outbox, account: PointsAccount, entry: PointsEntry, policy: Policy
) -> None:
    """Writes the ledger line with `member.points_changed`, and moves the member's level if it changed."""
    account.updated_at = entry.at
    session.add(entry)
    changed = MemberPointsChangedV1(
        member_id=account.member_id, delta=entry.delta, balance=account.balance, reason=entry.reason
    )
    await outbox.add(session, tenant_id=account.tenant_id, payloads=[changed])
    level = await session.scalar(select(Member.level).where(Member.id == account.member_id))
    await move_level(
        session=session,
        outbox=outbox,
        tenant_id=account.tenant_id,
        member_id=account.member_id,
        current=level or 0,
        new=policy.level_for(account.lifetime).level,
    )
    await session.flush()
