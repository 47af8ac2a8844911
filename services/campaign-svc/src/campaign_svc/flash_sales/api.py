"""Routes for flash sales: the stock left, and attempts to buy."""

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, status

from campaign_svc.dependencies import IdempotentRoute
from campaign_svc.flash_sales import service as flash_sales
from campaign_svc.flash_sales.schemas import FlashSaleAttempt, FlashSaleStock
from campaign_svc.orders.schemas import OrderRead
from qunyun_shared.dependencies import CurrentIdentity, DbSession, EventOutbox
from qunyun_shared.idempotency import KEY_REQUIRED

router = APIRouter(prefix="/campaigns", tags=["campaigns"], route_class=IdempotentRoute)


@router.get("/{campaign_id}/flash-sale")
async def flash_sale_stock(campaign_id: uuid.UUID, session: DbSession, caller: CurrentIdentity) -> FlashSaleStock:
    return FlashSaleStock.model_validate(
        await flash_sales.stock_of(session=session, tenant_id=caller.tenant_id, campaign_id=campaign_id)
    )


@router.post(
    "/{campaign_id}/flash-sale/orders",
    status_code=status.HTTP_201_CREATED,
    response_model=OrderRead,
    summary="Try to buy in a flash sale: an order, or 409 sold-out / purchase-limit-reached",
    dependencies=[KEY_REQUIRED],
)
async def buy_in_flash_sale(
    campaign_id: uuid.UUID,
    body: FlashSaleAttempt,
    session: DbSession,
    outbox: EventOutbox,
    caller: CurrentIdentity,
) -> OrderRead:
    order = await flash_sales.buy(
        session=session,
        outbox=outbox,
        tenant_id=caller.tenant_id,
        campaign_id=campaign_id,
        member_id=body.member_id,
        quantity=body.quantity,
        now=datetime.now(UTC),
        community_id=body.community_id,
    )
    return OrderRead.model_validate(order)
