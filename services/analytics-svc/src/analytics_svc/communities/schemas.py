"""Response models of a community's member count, health and top content."""

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from qunyun_shared.schemas import Read


class CommunityMemberCount(BaseModel):
    community_id: uuid.UUID
    members: int = Field(description="Members now in the community: joins minus leaves.")
    joined_total: int
    left_total: int


class MetricRead(BaseModel):
    dimension: str
    name: str
    value: float | None
    score: float | None
    target: float


class HealthRead(BaseModel):
    community_id: uuid.UUID
    as_of: date
    members: int
    age_days: int
    score: float | None
    stage: str
    dimensions: dict[str, float | None]
    metrics: list[MetricRead]


class ContentRank(Read):
    content_id: uuid.UUID
    community_id: uuid.UUID | None
    content_type: str | None
    posted_at: datetime | None
    views: int
    completes: int
    likes: int
    comments: int
    shares: int
    clicks: int
