"""Flash-sale attempts, group-buy teams and referral rewards in the API."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from campaign_svc.schemas.orders import OrderRead


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


class TeamSeatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member_id: uuid.UUID


class SeatRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    member_id: uuid.UUID
    order_id: uuid.UUID
    joined_at: datetime


class TeamRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    campaign_id: uuid.UUID
    leader_id: uuid.UUID
    status: Literal["forming", "completed", "expired"]
    size: int
    joined: int
    opened_at: datetime
    expires_at: datetime
    closed_at: datetime | None


class TeamView(BaseModel):
    team: TeamRead
    seats: list[SeatRead]


class SeatTaken(BaseModel):
    """A seat taken in a team: the team as it now is, and the member's order for it."""

    team: TeamRead
    order: OrderRead


class ReferralRewardRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    invitee_id: uuid.UUID
    inviter_id: uuid.UUID
    stage: Literal["join", "first_order"]
    outcome: Literal["rewarded", "capped", "cycle", "failed"]
    detail: str | None
    coupon_id: uuid.UUID | None
    at: datetime
