"""Points and levels in the API: a tenant's earn rules and level ladder, changes to a member's points, and how
their points read."""

import itertools
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from member_svc.inputs import Input
from qunyun_shared.events.integers import INT32_MAX
from qunyun_shared.schemas import Read, TimeZoneName

EarnAction = Literal["join", "checkin", "post", "comment", "per_yuan", "referral"]


class EarnRule(Input):
    points: int = Field(ge=0, le=1_000_000, description="Points per occurrence (per whole yuan for `per_yuan`).")
    daily_limit: int | None = Field(default=None, ge=1, le=10_000, description="Earns per member per day at most.")


class PointsPolicyBody(Input):
    earn_rules: dict[EarnAction, EarnRule] = Field(
        description="Actions left out earn nothing.",
        examples=[{"join": {"points": 10}, "comment": {"points": 2, "daily_limit": 20}, "per_yuan": {"points": 1}}],
    )
    expiry_days: int | None = Field(default=365, ge=1, le=3650, description="Earned points expire after; null: never.")
    timezone: TimeZoneName = Field(
        default="Asia/Shanghai", description="IANA zone in which days (daily limits) are counted."
    )
    history_earns_points: bool = Field(
        default=False,
        description="Whether imported history (joins, orders, check-ins a brand brought in from before) earns "
        "points by these rules as live events do. Levels, lifecycle and tags follow imported history either way.",
    )


class Level(Input):
    level: int = Field(ge=0, le=100)
    name: str = Field(min_length=1, max_length=32, examples=["金卡"])
    threshold: int = Field(
        ge=0, le=INT32_MAX, description="Lifetime points (earned less claw-backs) from which the level holds."
    )
    privileges: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(default=[], max_length=20)


class Levels(Input):
    levels: list[Level] = Field(min_length=1, max_length=50)

    @model_validator(mode="after")
    def _a_ladder_from_zero(self) -> "Levels":
        first = self.levels[0]
        if first.level != 0 or first.threshold != 0:
            raise ValueError("the first level must be level 0 at threshold 0")
        for lower, upper in itertools.pairwise(self.levels):
            if upper.level <= lower.level or upper.threshold <= lower.threshold:
                raise ValueError("levels and thresholds must both rise strictly")
        return self


class PointsChange(Input):
    points: int = Field(gt=0, le=10_000_000)
    note: str | None = Field(default=None, max_length=200, examples=["兑换保温杯"])


class PointsEntryRead(Read):
    id: uuid.UUID
    delta: int
    reason: str
    note: str | None
    order_id: uuid.UUID | None
    remaining: int | None = Field(description="Of an earn: points not yet spent or expired.")
    expires_at: datetime | None
    at: datetime


class PointsSummary(BaseModel):
    member_id: uuid.UUID
    balance: int
    debt: int = Field(description="Claw-backs the balance could not cover; the next earns pay them first.")
    lifetime: int
    level: Level
    next_level: Level | None
    expiring: list[PointsEntryRead] = Field(description="Lots expiring within 30 days, soonest first.")


class PointsLedgerPage(BaseModel):
    entries: list[PointsEntryRead]
    next_cursor: str | None
