"""Group-buys in the API: a campaign's terms, teams, their seats and the orders holding them."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from campaign_svc.money import PositiveFen
from campaign_svc.orders.schemas import OrderRead
from qunyun_shared.schemas import Input, Read


class GroupBuySettings(Input):
    product_id: str = Field(min_length=1, max_length=64)
    price_fen: PositiveFen
    team_size: int = Field(ge=2, le=100)
    time_limit_minutes: int = Field(default=24 * 60, ge=1, le=30 * 24 * 60)


class TeamSeatRequest(Input):
    member_id: uuid.UUID


class SeatRead(Read):
    member_id: uuid.UUID
    order_id: uuid.UUID
    joined_at: datetime


class TeamRead(Read):
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
