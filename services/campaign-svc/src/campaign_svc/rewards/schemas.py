"""What a campaign gives a member: a coupon, points, a tag, or any of them together."""

import uuid
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Reward(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    coupon_template_id: uuid.UUID | None = None
    points: int = Field(default=0, ge=0, le=1_000_000)
    tag: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _gives_something(self) -> Self:
        if self.coupon_template_id is None and self.points == 0 and self.tag is None:
            raise ValueError("a reward gives a coupon, points or a tag")
        return self


class GrantedReward(BaseModel):
    """What a grant did: the coupon issued (if any) and the points and tag sent to member-svc."""

    reward_id: uuid.UUID
    coupon_id: uuid.UUID | None = None
    points: int = 0
    tag: str | None = None
