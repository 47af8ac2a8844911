"""Flash sales in the API: a campaign's terms, an attempt to buy, and the stock left."""

import uuid

from pydantic import BaseModel, ConfigDict, Field

from campaign_svc.money import PositiveFen


class FlashSaleSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product_id: str = Field(min_length=1, max_length=64)
    price_fen: PositiveFen
    stock: int = Field(ge=1, le=10_000_000)
    per_member_limit: int = Field(default=1, ge=1, le=100)


class FlashSaleAttempt(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member_id: uuid.UUID
    quantity: int = Field(default=1, ge=1, le=100)
    community_id: uuid.UUID | None = None


class FlashSaleStock(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    campaign_id: uuid.UUID
    total: int
    sold: int
