"""How a member's points read: balance, level, what expires soon, and the ledger page by page."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from member_svc.members.models import Member
from member_svc.points.models import PointsAccount, PointsEntry
from member_svc.points.policy import policy_of
from member_svc.points.schemas import PointsEntryRead, PointsLedgerPage, PointsSummary
from qunyun_shared.pagination import decode_time_cursor, encode_time_cursor

EXPIRING_WITHIN = timedelta(days=30)


async def summary(*, session: AsyncSession, member: Member) -> PointsSummary:
    """The member's balance, debt, lifetime points and level, and the lots expiring within 30 days."""
    account = await _account_of(session=session, tenant_id=member.tenant_id, member_id=member.id)
    policy = await policy_of(session=session, tenant_id=member.tenant_id)
    lifetime = account.lifetime if account else 0
    soon = await _expiring(session=session, member_id=member.id, before=datetime.now(UTC) + EXPIRING_WITHIN)
    return PointsSummary(
        member_id=member.id,
        balance=account.balance if account else 0,
        debt=account.debt if account else 0,
        lifetime=lifetime,
        level=policy.level_for(lifetime),
        next_level=policy.next_level(lifetime),
        expiring=[PointsEntryRead.model_validate(lot) for lot in soon],
    )


async def ledger_page(
    *, session: AsyncSession, member_id: uuid.UUID, limit: int, cursor: str | None
) -> PointsLedgerPage:
    """A page of the member's ledger, newest first, and the cursor of the next page (None at the end)."""
    before = decode_time_cursor(cursor) if cursor is not None else None
    entries = await _ledger(session=session, member_id=member_id, limit=limit + 1, before=before)
    page = entries[:limit]
    next_cursor = encode_time_cursor(page[-1].at, page[-1].id) if len(entries) > limit else None
    return PointsLedgerPage(entries=[PointsEntryRead.model_validate(e) for e in page], next_cursor=next_cursor)


async def _account_of(*, session: AsyncSession, tenant_id: str, member_id: uuid.UUID) -> PointsAccount | None:
    account = await session.get(PointsAccount, member_id)
    return account if account is not None and account.tenant_id == tenant_id else None


async def _expiring(*, session: AsyncSession, member_id: uuid.UUID, before: datetime) -> list[PointsEntry]:
    """The member's lots with points left that expire before `before`, soonest first."""
    query = (
        select(PointsEntry)
        .where(PointsEntry.member_id == member_id, PointsEntry.remaining > 0, PointsEntry.expires_at < before)
        .order_by(PointsEntry.expires_at)
    )
    return list((await session.scalars(query)).all())


async def _ledger(
    *, session: AsyncSession, member_id: uuid.UUID, limit: int, before: tuple[datetime, uuid.UUID] | None
) -> list[PointsEntry]:
    """The member's ledger, newest first, `limit` lines older than the cursor."""
    query = (
        select(PointsEntry)
        .where(PointsEntry.member_id == member_id)
        .order_by(PointsEntry.at.desc(), PointsEntry.id.desc())
        .limit(limit)
    )
    if before is not None:
        at, entry_id = before
        query = query.where((PointsEntry.at < at) | ((PointsEntry.at == at) & (PointsEntry.id < entry_id)))
    return list((await session.scalars(query)).all())
