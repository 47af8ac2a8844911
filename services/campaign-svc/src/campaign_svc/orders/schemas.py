"""Orders in the API."""

import uuid
from datetime import datetime
from functools import cached_property
from typing import Literal, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    SkipValidation,
    ValidationInfo,
    field_validator,
    model_validator,
)

from campaign_svc.money import MAX_FEN, Fen, PositiveFen
from qunyun_shared.history import MAX_ROWS, PastTime
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
    merchant_order_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="The merchant's own order number, unique per tenant: pushed again with the same content, the "
        "order placed the first time is answered.",
    )
    paid_at: AwareDatetime | None = Field(default=None, description="A pushed order that was already paid.")

    @model_validator(mode="after")
    def _total_fits(self) -> Self:
        if subtotal_of(self.items) > MAX_FEN:
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
    merchant_order_id: str | None
    imported: bool
    coupon_code: str | None
    placed_at: datetime
    paid_at: datetime | None
    closed_at: datetime | None


class OrderPage(BaseModel):
    orders: list[OrderRead]
    next_cursor: str | None


class OrderHistoryRow(Input):
    """An order from the merchant's history: when it was placed, paid and refunded. It redeems no live
    coupon (`coupon_code` is kept as history), takes no stock, and earns or triggers nothing."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "merchant_order_id": "TB-2025-000123",
                    "member_id": "2b6f0d7a-4c1e-4a8e-9b1f-3f5b8c2d9e10",
                    "placed_at": "2025-06-18T20:41:00+08:00",
                    "paid_at": "2025-06-18T20:42:10+08:00",
                    "items": [{"product_id": "sku-oat-1kg", "quantity": 2, "unit_price_fen": 5900}],
                    "coupon_code": "618-20OFF",
                    "discount_fen": 2000,
                }
            ]
        }
    )
    merchant_order_id: str = Field(min_length=1, max_length=64, description="Unique per tenant.")
    member_id: uuid.UUID
    community_id: uuid.UUID | None = None
    placed_at: PastTime
    paid_at: PastTime | None = Field(default=None, description="Not before placed_at; none: never paid.")
    items: list[OrderItem] = Field(min_length=1, max_length=100)
    coupon_code: str | None = Field(default=None, min_length=1, max_length=64)
    discount_fen: Fen = Field(default=0, description="Off the items' total; at most the total.")
    refunded_at: PastTime | None = Field(default=None, description="Not before paid_at.")
    refund_fen: PositiveFen | None = Field(
        default=None, description="At most what was paid; default, with refunded_at: all of it."
    )

    @field_validator("paid_at")
    @classmethod
    def _paid_after_placed(cls, paid_at: datetime | None, info: ValidationInfo) -> datetime | None:
        placed_at = info.data.get("placed_at")
        if paid_at is not None and placed_at is not None and paid_at < placed_at:
            raise ValueError("is before placed_at")
        return paid_at

    @field_validator("items")
    @classmethod
    def _total_fits(cls, items: list[OrderItem]) -> list[OrderItem]:
        if subtotal_of(items) > MAX_FEN:
            raise ValueError(f"the order's total passes {MAX_FEN} fen")
        return items

    @field_validator("discount_fen")
    @classmethod
    def _discount_within_total(cls, discount_fen: int, info: ValidationInfo) -> int:
        items = info.data.get("items")
        if items is not None and discount_fen > subtotal_of(items):
            raise ValueError(f"is more than the items' total of {subtotal_of(items)} fen")
        return discount_fen

    @field_validator("refunded_at")
    @classmethod
    def _refunded_after_paid(cls, refunded_at: datetime | None, info: ValidationInfo) -> datetime | None:
        if refunded_at is None or "paid_at" not in info.data:
            return refunded_at
        paid_at = info.data["paid_at"]
        if paid_at is None:
            raise ValueError("an order never paid cannot have been refunded: give its paid_at")
        if refunded_at < paid_at:
            raise ValueError("is before paid_at")
        items, discount = info.data.get("items"), info.data.get("discount_fen")
        if items is not None and discount is not None and subtotal_of(items) == discount:
            raise ValueError("nothing was paid (the discount took the whole total), so nothing was refunded")
        return refunded_at

    @field_validator("refund_fen")
    @classmethod
    def _refund_within_paid(cls, refund_fen: int | None, info: ValidationInfo) -> int | None:
        if refund_fen is None or "refunded_at" not in info.data:
            return refund_fen
        if info.data["refunded_at"] is None:
            raise ValueError("a refund needs its refunded_at")
        items, discount = info.data.get("items"), info.data.get("discount_fen")
        if items is not None and discount is not None and refund_fen > subtotal_of(items) - discount:
            raise ValueError(f"is more than the {subtotal_of(items) - discount} fen paid")
        return refund_fen

    @cached_property
    def subtotal_fen(self) -> int:
        return subtotal_of(self.items)

    @property
    def paid_fen(self) -> int:
        return self.subtotal_fen - self.discount_fen

    @property
    def refunded_fen(self) -> int:
        """What was refunded: the refund's amount, all that was paid if none is given, or nothing."""
        if self.refunded_at is None:
            return 0
        return self.paid_fen if self.refund_fen is None else self.refund_fen


class OrderHistoryBatch(Input):
    orders: list[SkipValidation[OrderHistoryRow]] = Field(min_length=1, max_length=MAX_ROWS)


def subtotal_of(items: list[OrderItem]) -> int:
    """The items' total before any discount."""
    return sum(item.quantity * item.unit_price_fen for item in items)
