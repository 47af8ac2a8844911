"""Referrals in the API: a campaign's rewards and cap, and what inviters got."""

import uuid
from datetime import datetime
from typing import Literal, Self

from pydantic import Field, model_validator

from campaign_svc.rewards.schemas import Reward
from qunyun_shared.schemas import Input, Read


class ReferralSettings(Input):
    """Fission: the inviter is rewarded when the invitee joins, and again on the invitee's first paid order."""

    join_reward: Reward | None = None
    first_order_reward: Reward | None = None
    max_rewards_per_inviter: int = Field(default=20, ge=1, le=10_000)

    @model_validator(mode="after")
    def _rewards_something(self) -> Self:
        if self.join_reward is None and self.first_order_reward is None:
            raise ValueError("a referral campaign rewards the join, the first order or both")
        return self


class ReferralRewardRead(Read):
    invitee_id: uuid.UUID
    inviter_id: uuid.UUID
    stage: Literal["join", "first_order"]
    outcome: Literal["rewarded", "capped", "cycle", "failed"]
    detail: str | None
    coupon_id: uuid.UUID | None
    at: datetime
