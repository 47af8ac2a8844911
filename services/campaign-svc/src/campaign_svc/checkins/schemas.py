"""Check-in challenges (21-day 打卡) in the API: settings, check-ins and a member's progress."""

import uuid
from datetime import date, datetime
from typing import Self

from pydantic import BaseModel, Field, SkipValidation, model_validator

from campaign_svc.rewards.schemas import GrantedReward, Reward
from qunyun_shared.history import MAX_ROWS, PastTime
from qunyun_shared.schemas import Input, Read


class Milestone(Input):
    """A reward for a streak of `day` consecutive days."""

    day: int = Field(ge=1, le=366)
    reward: Reward


class CheckinSettings(Input):
    """A challenge of `days` check-ins, one per local day of the tenant, with rewards at streak milestones."""

    days: int = Field(default=21, ge=1, le=366)
    milestones: list[Milestone] = Field(default=[], max_length=366)

    @model_validator(mode="after")
    def _milestones_fit(self) -> Self:
        days = [milestone.day for milestone in self.milestones]
        if len(set(days)) != len(days):
            raise ValueError("milestone days must be unique")
        if any(day > self.days for day in days):
            raise ValueError(f"a milestone's day must be within the challenge's {self.days} days")
        return self


class CheckinCreate(Input):
    member_id: uuid.UUID


class CheckinHistoryRow(Input):
    """A check-in from the merchant's history: one per member and local day of the tenant, within the
    campaign's dates; it earns no milestone reward."""

    member_id: uuid.UUID
    checked_in_at: PastTime


class CheckinHistoryBatch(Input):
    checkins: list[SkipValidation[CheckinHistoryRow]] = Field(min_length=1, max_length=MAX_ROWS)


class MilestoneRead(Read):
    """A milestone the member reached; `grant_error` says why its reward could not be issued, if it could not."""

    day: int
    reached_on: date
    granted: GrantedReward | None
    grant_error: str | None


class CheckinRead(BaseModel):
    """A check-in; `day` is the tenant's local day, `milestones` those this check-in reached."""

    campaign_id: uuid.UUID
    member_id: uuid.UUID
    day: date
    streak: int
    checked_in_at: datetime
    milestones: list[MilestoneRead]


class CheckinProgress(BaseModel):
    """How far a member is: `current_streak` is 0 once a local day has passed without a check-in."""

    campaign_id: uuid.UUID
    member_id: uuid.UUID
    days: int
    checked_in_days: list[date]
    current_streak: int
    longest_streak: int
    milestones: list[MilestoneRead]
    completed: bool
