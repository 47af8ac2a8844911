"""Campaigns in the API: common fields, each kind's settings (declared by the kind's own domain), and the
budget report."""

import uuid
from datetime import datetime
from typing import Any, Literal, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from campaign_svc.checkins.schemas import CheckinSettings
from campaign_svc.flash_sales.schemas import FlashSaleSettings
from campaign_svc.group_buys.schemas import GroupBuySettings
from campaign_svc.lotteries.schemas import LotterySettings
from campaign_svc.money import Fen
from campaign_svc.referrals.schemas import ReferralSettings
from qunyun_shared.schemas import Input, Read

CampaignKind = Literal[
    "coupon",
    "flash_sale",
    "group_buy",
    "lottery",
    "checkin",
    "referral",
    "welcome_pack",
    "first_order",
    "birthday",
    "win_back",
    "member_day",
    "ugc_contest",
]
CampaignStatus = Literal["scheduled", "running", "ended"]


class NoSettings(Input):
    """Kinds whose behaviour lives in their coupon templates and automation rules."""


# Each kind's settings model; kinds not named here take none.
KIND_SETTINGS: dict[str, type[BaseModel]] = {
    "flash_sale": FlashSaleSettings,
    "group_buy": GroupBuySettings,
    "referral": ReferralSettings,
    "lottery": LotterySettings,
    "checkin": CheckinSettings,
}


class CampaignCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "kind": "flash_sale",
                    "name": "周五秒杀",
                    "starts_at": "2026-11-27T12:00:00+08:00",
                    "ends_at": "2026-11-27T13:00:00+08:00",
                    "budget_fen": 500000,
                    "settings": {"product_id": "sku-1", "price_fen": 990, "stock": 100, "per_member_limit": 1},
                }
            ]
        },
    )
    kind: CampaignKind
    name: str = Field(min_length=1, max_length=100)
    community_id: uuid.UUID | None = Field(
        default=None, description="The community the campaign is run in; none: every community of the tenant."
    )
    starts_at: AwareDatetime | None = Field(default=None, description="Default: now.")
    ends_at: AwareDatetime | None = None
    budget_fen: Fen | None = Field(default=None, description="What the campaign may cost; none means no cap.")
    settings: dict[str, Any] = {}

    @model_validator(mode="after")
    def _valid_for_kind(self) -> Self:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        settings_model = KIND_SETTINGS.get(self.kind, NoSettings)
        self.settings = settings_model.model_validate(self.settings).model_dump(mode="json")
        return self


class CampaignRead(Read):
    id: uuid.UUID
    kind: str
    name: str
    community_id: uuid.UUID | None
    status: CampaignStatus
    starts_at: datetime
    ends_at: datetime | None
    budget_fen: int | None
    settings: dict[str, Any]
    ended_reason: str | None
    created_at: datetime


class CampaignReport(BaseModel):
    """Budget, cost and return. Cost is redeemed coupon value and prizes awarded; GMV is paid orders
    credited to the campaign (directly or through its coupons) less their refunds; ROI = (GMV - cost) / cost."""

    campaign_id: uuid.UUID
    budget_fen: int | None
    committed_fen: int
    cost_fen: int
    remaining_fen: int | None
    orders: int
    gmv_fen: int
    roi: float | None
