"""Orders: placed by members or pushed by merchants, paid, cancelled, refunded."""

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, status

from campaign_svc.dependencies import IdempotentRoute
from campaign_svc.orders import history
from campaign_svc.orders import service as orders
from campaign_svc.orders.schemas import OrderCreate, OrderHistoryBatch, OrderPage, OrderRead, RefundCreate
from qunyun_shared.dependencies import COLLECTION_HELD_BACK, CurrentIdentity, DbSession, EventOutbox
from qunyun_shared.history import HistoryBatchRead
from qunyun_shared.idempotency import KEY_REQUIRED
from qunyun_shared.pagination import encode_time_cursor

router = APIRouter(prefix="/campaigns/orders", tags=["orders"], route_class=IdempotentRoute)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderRead,
    summary="Place an order, or push one from a merchant's shop (a push repeated with its merchant_order_id or "
    "Idempotency-Key answers the order placed the first time)",
    dependencies=[KEY_REQUIRED],
)
async def place_order(
    body: OrderCreate,
    session: DbSession,
    outbox: EventOutbox,
    caller: CurrentIdentity,
) -> OrderRead:
    order = await orders.place(
        session=session, outbox=outbox, tenant_id=caller.tenant_id, order_in=body, now=datetime.now(UTC)
    )
    return OrderRead.model_validate(order)


@router.post(
    "/history",
    dependencies=[COLLECTION_HELD_BACK],
    summary="Import orders from the merchant's history (at most 1,000 a batch): each row is created, unchanged "
    "(imported before with the same content) or failed with its problems; no live coupon, stock or budget is "
    "touched, and the events say imported",
)
async def import_order_history(
    body: OrderHistoryBatch, session: DbSession, outbox: EventOutbox, caller: CurrentIdentity
) -> HistoryBatchRead:
    return await history.import_orders(session=session, outbox=outbox, tenant_id=caller.tenant_id, rows=body.orders)


@router.get("", summary="Orders, newest first, optionally one member's")
async def list_orders(
    session: DbSession,
    caller: CurrentIdentity,
    member_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> OrderPage:
    rows = await orders.orders_of(
        session=session, tenant_id=caller.tenant_id, member_id=member_id, limit=limit, cursor=cursor
    )
    page = rows[:limit]
    next_cursor = encode_time_cursor(page[-1].placed_at, page[-1].id) if len(rows) > limit else None
    return OrderPage(orders=[OrderRead.model_validate(o) for o in page], next_cursor=next_cursor)


@router.get("/{order_id}")
async def get_order(order_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> OrderRead:
    return OrderRead.model_validate(
        await orders.get_order(session=session, tenant_id=caller.tenant_id, order_id=order_id)
    )


@router.post(
    "/{order_id}/payments", status_code=status.HTTP_201_CREATED, response_model=OrderRead, dependencies=[KEY_REQUIRED]
)
async def pay_order(
    order_id: uuid.UUID,
    session: DbSession,
    outbox: EventOutbox,
    caller: CurrentIdentity,
) -> OrderRead:
    order = await orders.get_order(session=session, tenant_id=caller.tenant_id, order_id=order_id, lock=True)
    return OrderRead.model_validate(await orders.pay(session=session, outbox=outbox, order=order, at=datetime.now(UTC)))


@router.post("/{order_id}/cancel", summary="Cancel an unpaid order; its coupon, units and seat are given back")
async def cancel_order(order_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> OrderRead:
    order = await orders.get_order(session=session, tenant_id=caller.tenant_id, order_id=order_id, lock=True)
    return OrderRead.model_validate(await orders.cancel(session=session, order=order, now=datetime.now(UTC)))


@router.post(
    "/{order_id}/refunds", status_code=status.HTTP_201_CREATED, response_model=OrderRead, dependencies=[KEY_REQUIRED]
)
async def refund_order(
    order_id: uuid.UUID,
    body: RefundCreate,
    session: DbSession,
    outbox: EventOutbox,
    caller: CurrentIdentity,
) -> OrderRead:
    order = await orders.get_order(session=session, tenant_id=caller.tenant_id, order_id=order_id, lock=True)
    await orders.refund(
        session=session,
        outbox=outbox,
        order=order,
        amount_fen=body.amount_fen,
        reason=body.reason,
        now=datetime.now(UTC),
    )
    return OrderRead.model_validate(order)
