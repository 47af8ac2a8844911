"""Coupon templates and coupons in the API."""

import uuid
from datetime import datetime
from typing import Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from campaign_svc.money import Fen, PositiveFen
from qunyun_shared.schemas import Input, Read


class CouponTemplateCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "campaign_id": "6f1c2a9e-8a43-4b8e-9a55-0b8f5a3c1d20",
                    "name": "满99减20",
                    "discount": "amount_off",
                    "amount_off_fen": 2000,
                    "min_spend_fen": 9900,
                    "valid_days": 7,
                    "per_member_limit": 1,
                    "total_stock": 1000,
                }
            ]
        },
    )
    campaign_id: uuid.UUID
    name: str = Field(min_length=1, max_length=100)
    discount: Literal["amount_off", "percent_off"]
    amount_off_fen: PositiveFen | None = None
    percent_off: int | None = Field(default=None, ge=1, le=99, description="20 means 20% off.")
    max_discount_fen: PositiveFen | None = Field(default=None, description="The cap of a percent-off discount.")
    min_spend_fen: Fen = Field(default=0, description="The order total the coupon needs (满减 threshold).")
    valid_days: int | None = Field(default=None, ge=1, le=3650, description="Valid for this many days after issue.")
    valid_until: AwareDatetime | None = None
    per_member_limit: int = Field(default=1, ge=1, le=1000)
    total_stock: int | None = Field(default=None, ge=1, le=100_000_000)
    first_order_only: bool = False

    @model_validator(mode="after")
    def _terms_are_whole(self) -> Self:
        if self.discount == "amount_off":
            if self.amount_off_fen is None or self.percent_off is not None:
                raise ValueError("an amount_off coupon has amount_off_fen and no percent_off")
        elif self.percent_off is None or self.max_discount_fen is None or self.amount_off_fen is not None:
            raise ValueError("a percent_off coupon has percent_off and max_discount_fen, and no amount_off_fen")
        if (self.valid_days is None) == (self.valid_until is None):
            raise ValueError("give exactly one of valid_days and valid_until")
        return self


class CouponTemplateRead(Read):
    id: uuid.UUID
    campaign_id: uuid.UUID
    name: str
    discount: str
    amount_off_fen: int | None
    percent_off: int | None
    max_discount_fen: int
    min_spend_fen: int
    valid_days: int | None
    valid_until: datetime | None
    per_member_limit: int
    total_stock: int | None
    issued: int
    first_order_only: bool


class CouponIssue(Input):
    member_id: uuid.UUID


class CouponRead(Read):
    id: uuid.UUID
    template_id: uuid.UUID
    campaign_id: uuid.UUID
    member_id: uuid.UUID
    status: Literal["issued", "redeemed", "expired"]
    issued_at: datetime
    expires_at: datetime
    order_id: uuid.UUID | None
    discount_fen: int | None
    redeemed_at: datetime | None
