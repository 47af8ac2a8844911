"""Flash sales in the API: a campaign's terms, an attempt to buy, and the stock left."""

import uuid

from pydantic import Field

from campaign_svc.money import PositiveFen
from qunyun_shared.schemas import Input, Read


class FlashSaleSettings(Input):
    product_id: str = Field(min_length=1, max_length=64)
    price_fen: PositiveFen
    stock: int = Field(ge=1, le=10_000_000)
    per_member_limit: int = Field(default=1, ge=1, le=100)


class FlashSaleAttempt(Input):
    member_id: uuid.UUID
    quantity: int = Field(default=1, ge=1, le=100)
    community_id: uuid.UUID | None = None


class FlashSaleStock(Read):
    campaign_id: uuid.UUID
    total: int
    sold: int
