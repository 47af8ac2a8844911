"""Request and response models of members' scores, segments and the recompute."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field


class MemberScores(BaseModel):
    """Scores are computed as of the request against the tenant's last fitted model (none before its
    first fit); the segment and churn flag are what the last rescore decided, at `scored_at`."""

    member_id: uuid.UUID
    segment: str | None
    recency_score: int | None = None
    frequency_score: int | None = None
    monetary_score: int | None = None
    churn_score: float | None = None
    churn_flagged: bool
    churn_reasons: list[str] = Field(description="Why the member is flagged, as of now; empty unless flagged.")
    probability_alive: float | None = Field(default=None, description="None without a purchase model or a purchase.")
    lifetime_value_fen: int | None = Field(
        default=None, description="Expected spend over the next 12 months, discounted; None without both models."
    )
    orders: int
    spend_fen: int
    last_active_at: datetime | None
    scored_at: datetime | None = Field(description="When the segment and churn flag were last decided.")


class SegmentCount(BaseModel):
    segment: str
    members: int


class Recomputed(BaseModel):
    members: int
    fitted_at: datetime
    purchase_model: bool = Field(description="Whether a BG/NBD and Gamma-Gamma model could be fitted.")
