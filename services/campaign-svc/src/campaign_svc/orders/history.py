"""Orders from a merchant's history, imported in batches: each stored as an order (placed, paid, refunded
when it was) and announced as live ones are, marked imported, touching nothing live (no coupon redeemed,
no stock, seat, quota or budget taken).

A row is named by its merchant order id: imported again with the same content it is unchanged, with
other content (or under the id of an order placed live) it fails naming the earlier order. An order may
have been paid before its member joined any community: a shop's customers bought before the brand ran
communities, and a member campaign-svc has not heard of yet (member-svc's events may be on their way) is
not refused for that alone; one erased, or another tenant's, is.
"""

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.members import service as members
from campaign_svc.orders.models import Order, Refund
from campaign_svc.orders.schemas import OrderHistoryRow
from qunyun_shared.db import insert_rows, one_of
from qunyun_shared.events import EventPayload
from qunyun_shared.events.campaign import OrderPaidV1, OrderPlacedV1, OrderRefundedV1
from qunyun_shared.history import HistoryBatchRead, RowResult, check_rows, content_digest, failed
from qunyun_shared.outbox import Outbox

REFUND_REASON = "imported history"

# A row that passed its checks: its number in the batch, the row, and the digest of what it says.
_Row = tuple[int, OrderHistoryRow, str]
# An order already stored under a merchant order id: its id, and the digest of the row it was imported from
# (None for an order placed live).
_Earlier = tuple[uuid.UUID, str | None]


async def import_orders(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, rows: Sequence[Any]
) -> HistoryBatchRead:
    """Imports a batch of order history rows, each on its own: created, unchanged, or failed with why."""
    good, results = check_rows(OrderHistoryRow, rows)
    refused = await members.refused_for_history(
        session=session, tenant_id=tenant_id, member_ids={row.member_id for _, row in good}
    )
    batch: dict[str, list[_Row]] = {}
    for number, row in good:
        if row.member_id in refused:
            results.append(failed(number, refused[row.member_id], "member_id"))
        else:
            batch.setdefault(row.merchant_order_id, []).append((number, row, digest_of(row)))
    earlier = await _earlier(session, tenant_id, batch)
    new = {merchant_id: (uuid.uuid4(), rows) for merchant_id, rows in batch.items() if merchant_id not in earlier}
    landed = await _insert(session, tenant_id, [(order_id, rows[0]) for order_id, rows in new.values()])
    # Rows whose merchant id another import or push took meanwhile are judged against what it stored.
    raced = {merchant_id for merchant_id, (order_id, _) in new.items() if order_id not in landed}
    earlier |= await _earlier(session, tenant_id, raced)
    for merchant_id, rows in batch.items():
        first = new.get(merchant_id)
        if first is not None and first[0] in landed:
            order_id, (created, *repeats) = first
            results.append(RowResult(row=created[0], id=order_id, outcome="created"))
            results += [_repeat(row, (order_id, created[2])) for row in repeats]
        else:
            results += [_repeat(row, earlier[merchant_id]) for row in rows]
    created_rows = [(order_id, rows[0][1]) for order_id, rows in new.values() if order_id in landed]
    await _insert_refunds(session, created_rows)
    await outbox.add(session, tenant_id=tenant_id, payloads=_announcements(created_rows), imported=True)
    return HistoryBatchRead.of(results)


def digest_of(row: OrderHistoryRow) -> str:
    """What the row says, whatever offsets its times were given in and however its refund was spelled."""
    return content_digest(row, refund_fen=row.refunded_fen)


async def _earlier(session: AsyncSession, tenant_id: str, merchant_ids: Iterable[str]) -> dict[str, _Earlier]:
    """The orders stored under merchant order ids, by the ids: one look-up for the batch."""
    wanted = set(merchant_ids)
    if not wanted:
        return {}
    found = await session.execute(
        select(Order.merchant_order_id, Order.id, Order.history_digest).where(
            Order.tenant_id == tenant_id, one_of(session, Order.merchant_order_id, wanted)
        )
    )
    return {str(merchant_id): (order_id, digest) for merchant_id, order_id, digest in found}


def _repeat(row: _Row, earlier: _Earlier) -> RowResult:
    """A row under a merchant order id stored before: unchanged if it says the same, failed if not."""
    number, history, digest = row
    order_id, earlier_digest = earlier
    if digest == earlier_digest:
        return RowResult(row=number, id=order_id, outcome="unchanged")
    how = "placed live" if earlier_digest is None else "imported with other content"
    message = f"Order {history.merchant_order_id!r} was {how} before, as order {order_id}."
    return failed(number, message, "merchant_order_id")


async def _insert(session: AsyncSession, tenant_id: str, new: list[tuple[uuid.UUID, _Row]]) -> set[uuid.UUID]:
    """Inserts the new orders in one statement; returns the ids of those that landed (a merchant order id
    taken meanwhile by another transaction keeps its row out)."""
    if not new:
        return set()
    table = cast(Table, Order.__table__)
    statement, parameters = insert_rows(
        session, table, [_order_row(tenant_id, order_id, row, digest) for order_id, (_, row, digest) in new]
    )
    landed = await session.scalars(statement.on_conflict_do_nothing().returning(table.c.id), parameters)
    return set(landed.all())


def _order_row(tenant_id: str, order_id: uuid.UUID, row: OrderHistoryRow, digest: str) -> dict[str, Any]:
    refunded = row.refunded_fen
    status = "placed" if row.paid_at is None else "paid"
    if refunded:
        status = "refunded" if refunded == row.paid_fen else "partially_refunded"
    return {
        "id": order_id,
        "tenant_id": tenant_id,
        "member_id": row.member_id,
        "community_id": row.community_id,
        "status": status,
        "items": [item.model_dump() for item in row.items],
        "subtotal_fen": row.subtotal_fen,
        "discount_fen": row.discount_fen,
        "amount_fen": row.paid_fen,
        "refunded_fen": refunded,
        "campaign_id": None,
        "coupon_id": None,
        "content_id": None,
        "inviter_id": None,
        "merchant_order_id": row.merchant_order_id,
        "imported": True,
        "coupon_code": row.coupon_code,
        "history_digest": digest,
        "placed_at": row.placed_at,
        "paid_at": row.paid_at,
        "closed_at": row.refunded_at if status == "refunded" else None,
    }


async def _insert_refunds(session: AsyncSession, created: list[tuple[uuid.UUID, OrderHistoryRow]]) -> None:
    refunds = [
        {
            "id": uuid.uuid4(),
            "order_id": order_id,
            "amount_fen": row.refunded_fen,
            "reason": REFUND_REASON,
            "refunded_at": row.refunded_at,
        }
        for order_id, row in created
        if row.refunded_at is not None
    ]
    if refunds:
        statement, parameters = insert_rows(session, cast(Table, Refund.__table__), refunds)
        await session.execute(statement, parameters)


def _announcements(created: list[tuple[uuid.UUID, OrderHistoryRow]]) -> list[EventPayload]:
    """Each order's placement, payment and refund at their historical times, all in the order they happened
    (one order's in its own order), so a member's history reaches consumers as it unfolded."""
    timed: list[tuple[datetime, int, int, EventPayload]] = []
    for position, (order_id, row) in enumerate(created):
        placed = OrderPlacedV1(
            order_id=order_id,
            member_id=row.member_id,
            community_id=row.community_id,
            amount_fen=row.paid_fen,
            product_ids=[item.product_id for item in row.items],
            placed_at=row.placed_at,
        )
        timed.append((row.placed_at, 0, position, placed))
        if row.paid_at is not None:
            paid = OrderPaidV1(order_id=order_id, member_id=row.member_id, amount_fen=row.paid_fen, paid_at=row.paid_at)
            timed.append((row.paid_at, 1, position, paid))
        if row.refunded_at is not None:
            refunded = OrderRefundedV1(
                order_id=order_id, member_id=row.member_id, amount_fen=row.refunded_fen, refunded_at=row.refunded_at
            )
            timed.append((row.refunded_at, 2, position, refunded))
    timed.sort(key=lambda event: event[:3])
    return [payload for *_, payload in timed]
