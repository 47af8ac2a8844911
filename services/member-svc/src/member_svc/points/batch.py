"""Points for a batch of orders at once: what `service.earn` does for each, in a few statements for the whole
batch (accounts created and locked together, sources checked together, the ledger lines inserted together),
so a consumer's run of `order.placed` costs about as much for a thousand orders as for one."""

import uuid
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import flag_modified

from member_svc.members.models import Member
from member_svc.points.models import PointsAccount, PointsEntry
from member_svc.points.policy import Policy
from member_svc.points.service import Earning
from qunyun_shared.db import insert_rows, one_of
from qunyun_shared.events import EventPayload
from qunyun_shared.events.member import MemberLevelChangedV1, MemberPointsChangedV1
from qunyun_shared.outbox import Outbox

_ACCOUNTS = cast(Table, PointsAccount.__table__)
_LEDGER = cast(Table, PointsEntry.__table__)


async def earn_all(
    *,
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    policy: Policy,
    members: Mapping[uuid.UUID, Member],
    earnings: Sequence[Earning],
) -> None:
    """Credits earnings of the tenant's `members` in their order, each source once, as `service.earn` would one
    by one; for actions without a daily limit (the caller earns limited ones one at a time)."""
    earnings = _each_source_once([e for e in earnings if e.points > 0])
    if not earnings:
        return
    assert all(policy.daily_limit(e.reason) is None for e in earnings), "daily limits are counted one by one"
    accounts = await _locked_accounts(session, tenant_id, earnings)
    earned_before = set(
        (
            await session.scalars(
                select(PointsEntry.source).where(
                    PointsEntry.tenant_id == tenant_id,
                    one_of(session, PointsEntry.source, [e.source for e in earnings]),
                )
            )
        ).all()
    )
    lines: list[dict[str, Any]] = []
    events: list[EventPayload] = []
    for earning in earnings:
        if earning.source in earned_before:
            continue
        account = accounts[earning.member_id]
        lines.append(_credit(account, earning, policy))
        events.append(
            MemberPointsChangedV1(
                member_id=earning.member_id, delta=earning.points, balance=account.balance, reason=earning.reason
            )
        )
        events += _level_move(policy, members[earning.member_id], account)
    if not lines:
        return
    statement, parameters = insert_rows(session, _LEDGER, lines)
    await session.execute(statement, parameters)
    await outbox.add(session, tenant_id=tenant_id, payloads=events)
    await session.flush()


def _each_source_once(earnings: Sequence[Earning]) -> list[Earning]:
    seen: set[str] = set()
    once = []
    for earning in earnings:
        if earning.source not in seen:
            seen.add(earning.source)
            once.append(earning)
    return once


async def _locked_accounts(
    session: AsyncSession, tenant_id: str, earnings: Sequence[Earning]
) -> dict[uuid.UUID, PointsAccount]:
    """The members' accounts, created at first use, locked until the transaction ends (in member order, as
    every batch takes them, so two batches never wait for each other)."""
    first_at = {e.member_id: e.at for e in reversed(earnings)}
    rows = [
        {"member_id": m, "tenant_id": tenant_id, "balance": 0, "debt": 0, "lifetime": 0, "updated_at": at}
        for m, at in sorted(first_at.items())
    ]
    statement, parameters = insert_rows(session, _ACCOUNTS, rows)
    await session.execute(statement.on_conflict_do_nothing(index_elements=["member_id"]), parameters)
    found = await session.scalars(
        select(PointsAccount)
        .where(one_of(session, PointsAccount.member_id, list(first_at)))
        .order_by(PointsAccount.member_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    accounts = {account.member_id: account for account in found.all()}
    assert all(account.tenant_id == tenant_id for account in accounts.values())
    return accounts


def _credit(account: PointsAccount, earning: Earning, policy: Policy) -> dict[str, Any]:
    """Adds an earning to the account (paying its debt first) and returns its ledger line, a lot of what is
    left after the debt."""
    paid_debt = min(account.debt, earning.points)
    account.debt -= paid_debt
    account.balance += earning.points - paid_debt
    account.lifetime += earning.points
    account.updated_at = earning.at
    # Every credited account's row written with the same columns, changed or not, so the flush updates them all
    # in one executemany: the ORM starts another statement wherever the set of changed columns differs.
    for column in ("balance", "debt", "lifetime", "updated_at"):
        flag_modified(account, column)
    expiry = policy.rules.expiry_days
    return {
        "id": uuid.uuid4(),
        "tenant_id": account.tenant_id,
        "member_id": earning.member_id,
        "delta": earning.points,
        "reason": earning.reason,
        "note": earning.note,
        "source": earning.source,
        "order_id": earning.order_id,
        "order_amount_fen": earning.order_amount_fen,
        "remaining": earning.points - paid_debt,
        "expires_at": earning.at + timedelta(days=expiry) if expiry is not None else None,
        "at": earning.at,
    }


def _level_move(policy: Policy, member: Member, account: PointsAccount) -> list[EventPayload]:
    """Moves the member to the level their lifetime points give now, with `member.level_changed` if it moved."""
    level = policy.level_for(account.lifetime).level
    if level == member.level:
        return []
    moved = MemberLevelChangedV1(member_id=member.id, from_level=member.level, to_level=level)
    member.level = level
    return [moved]
