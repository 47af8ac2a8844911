"""Orders in the API."""

import uuid
from datetime import datetime
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from campaign_svc.money import MAX_FEN, Fen, PositiveFen
from qunyun_shared.schemas import Input, Read

OrderStatus = Literal["placed", "paid", "cancelled", "partially_refunded", "refunded"]


class OrderItem(Input):
    product_id: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=10_000)
    unit_price_fen: Fen


class OrderAttribution(Input):
    """What the order is credited to; the coupon is given separately, as the order redeems it."""

    campaign_id: uuid.UUID | None = None
    content_id: uuid.UUID | None = None
    inviter_id: uuid.UUID | None = None


class OrderCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "member_id": "2b6f0d7a-4c1e-4a8e-9b1f-3f5b8c2d9e10",
                    "community_id": "9a3e1f2b-7c4d-4e5f-8a6b-1c2d3e4f5a6b",
                    "items": [{"product_id": "sku-oat-1kg", "quantity": 2, "unit_price_fen": 5900}],
                    "coupon_id": None,
                    "attribution": {"content_id": "5c8d2e1f-0a9b-4c7d-8e6f-2a1b3c4d5e6f"},
                }
            ]
        },
    )
    member_id: uuid.UUID
    community_id: uuid.UUID | None = None
    items: list[OrderItem] = Field(min_length=1, max_length=100)
    coupon_id: uuid.UUID | None = None
    attribution: OrderAttribution = OrderAttribution()
    external_id: str | None = Field(
        default=None, min_length=1, max_length=64, description="The merchant's own order number, for pushed orders."
    )
    paid_at: AwareDatetime | None = Field(default=None, description="A pushed order that was already paid.")

    @model_validator(mode="after")
    def _total_fits(self) -> Self:
        if sum(item.quantity * item.unit_price_fen for item in self.items) > MAX_FEN:
            raise ValueError(f"the order's total passes {MAX_FEN} fen")
        return self


class RefundCreate(Input):
    amount_fen: PositiveFen | None = Field(default=None, description="Default: all that is not refunded yet.")
    reason: str = Field(default="requested", min_length=1, max_length=200)


class OrderRead(Read):
    id: uuid.UUID
    member_id: uuid.UUID
    community_id: uuid.UUID | None
    status: OrderStatus
    items: list[OrderItem]
    subtotal_fen: int
    discount_fen: int
    amount_fen: int
    refunded_fen: int
    campaign_id: uuid.UUID | None
    coupon_id: uuid.UUID | None
    content_id: uuid.UUID | None
    inviter_id: uuid.UUID | None
    external_id: str | None
    placed_at: datetime
    paid_at: datetime | None
    closed_at: datetime | None


class OrderPage(BaseModel):
    orders: list[OrderRead]
    next_cursor: str | None
