"""Lotteries (抽奖) in the API: the prize pool, draws, and the audit anyone can re-check."""

import uuid
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, Field, model_validator

from campaign_svc.money import Fen
from campaign_svc.rewards.schemas import GrantedReward, Reward
from qunyun_shared.schemas import Input, Read

PPM = 1_000_000

PrizeKey = Annotated[str, Field(pattern=r"^[a-z0-9_-]{1,32}$", examples=["first"])]
# won: the prize was awarded; lost: the roll fell on no prize; out_of_stock / over_budget: the roll fell on
# a prize that was all given out, or that the campaign's budget could no longer pay for.
DrawOutcome = Literal["won", "lost", "out_of_stock", "over_budget"]


class Prize(Input):
    key: PrizeKey
    name: str = Field(min_length=1, max_length=100)
    # Strict: a probability is exact, and 0.5 or "500" is a client's bug rather than a number to guess at.
    probability_ppm: int = Field(strict=True, ge=1, le=PPM, description="Chance of this prize, in parts per million.")
    stock: int = Field(ge=1, le=10_000_000)
    value_fen: Fen = Field(
        default=0,
        description="What awarding the prize costs the campaign's budget (a physical gift, cash), beyond the "
        "reward's coupon, whose own value is set aside when the coupon is issued.",
    )
    reward: Reward | None = None


class LotterySettings(Input):
    """The prize pool: each prize covers its `probability_ppm` of the rolls in declared order; the rolls
    no prize covers (1,000,000 less their sum) win nothing."""

    per_member_draws: int = Field(default=1, ge=1, le=100)
    prizes: list[Prize] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _pool_is_sound(self) -> Self:
        keys = [prize.key for prize in self.prizes]
        if len(set(keys)) != len(keys):
            raise ValueError("prize keys must be unique")
        if sum(prize.probability_ppm for prize in self.prizes) > PPM:
            raise ValueError(f"the prizes' probability_ppm add up to more than {PPM}")
        return self


class DrawCreate(Input):
    member_id: uuid.UUID


class DrawRead(Read):
    """One draw. `salt` lets the member find the draw in the audit: its `member_ref` is
    sha256 of "<salt>|<member_id>"."""

    id: uuid.UUID
    campaign_id: uuid.UUID
    member_id: uuid.UUID
    sequence: int
    outcome: DrawOutcome
    prize_key: str | None = Field(description="The prize the roll fell on, won or not.")
    value_fen: int = Field(description="What the draw charged the campaign's budget.")
    roll: int
    nonce: str
    salt: str | None
    member_ref: str
    entry_hash: str
    granted: GrantedReward | None
    grant_error: str | None = Field(description="Why the won prize's reward could not be issued, if it could not.")
    drawn_at: datetime


class AuditPrize(BaseModel):
    key: str
    probability_ppm: int
    stock: int


class AuditEntry(BaseModel):
    """One draw as the audit shows it; every field but `prev_hash` and `entry_hash` is hashed."""

    sequence: int
    member_ref: str
    nonce: str
    roll: int
    prize: str | None
    outcome: str
    drawn_at: str
    prev_hash: str
    entry_hash: str


class LotteryAudit(BaseModel):
    """What anyone needs to re-check every draw (see `campaign_svc.lotteries.verify`). The seed is shown
    once the campaign has ended; its SHA-256 `commitment` from the start."""

    campaign_id: uuid.UUID
    commitment: str
    seed: str | None
    prizes: list[AuditPrize]
    draws: int
    head_hash: str
    entries: list[AuditEntry]
