"""How a member's points read: balance, level, what expires soon, and the ledger page by page."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from member_svc import points
from member_svc.members.models import Member
from member_svc.schemas import PointsEntryRead, PointsLedgerPage, PointsSummary
from qunyun_shared.pagination import decode_time_cursor, encode_time_cursor

EXPIRING_WITHIN = timedelta(days=30)


async def summary(*, session: AsyncSession, member: Member) -> PointsSummary:
    account = await points.account_of(session=session, tenant_id=member.tenant_id, member_id=member.id)
    policy = await points.policy_of(session=session, tenant_id=member.tenant_id)
    lifetime = account.lifetime if account else 0
    soon = await points.expiring(session=session, member_id=member.id, before=datetime.now(UTC) + EXPIRING_WITHIN)
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
    before = decode_time_cursor(cursor) if cursor is not None else None
    entries = await points.ledger(session=session, member_id=member_id, limit=limit + 1, before=before)
    page = entries[:limit]
    next_cursor = encode_time_cursor(page[-1].at, page[-1].id) if len(entries) > limit else None
    return PointsLedgerPage(entries=[PointsEntryRead.model_validate(e) for e in page], next_cursor=next_cursor)
