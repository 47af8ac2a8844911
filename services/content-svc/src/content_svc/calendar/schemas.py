"""The calendar's request and response models: schedules, placements, push policies, suggested slots."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from qunyun_shared.events.content import ContentType
from qunyun_shared.schemas import Input, Read, TimeZoneName


class ScheduleRequest(Input):
    community_ids: list[uuid.UUID] = Field(min_length=1, max_length=50)
    publish_at: AwareDatetime = Field(description="When to publish; in the future, with a UTC offset.")


class PlacementRead(Read):
    id: uuid.UUID
    content_id: uuid.UUID
    community_id: uuid.UUID
    content_type: ContentType
    publish_at: datetime
    status: Literal["scheduled", "published", "cancelled"]
    published_at: datetime | None
    audience_size: int | None


class PushPolicy(BaseModel):
    """How much a community may be sent: a cap per local day and a ceiling on promotion in any 7 days."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)
    max_pushes_per_day: int = Field(ge=1, le=50, examples=[5])
    max_promotion_share: float = Field(ge=0, le=1, examples=[0.3])
    timezone: TimeZoneName


class SlotSuggestion(BaseModel):
    community_id: uuid.UUID
    basis: Literal["engagement", "persona", "default"]
    personas: list[str] = Field(description="The audience personas the hours came from, when basis is persona.")
    hours: list[int] = Field(description="Local hours of the day, best first.")
    slots: list[datetime] = Field(description="The next times at those hours the community's policy still allows.")
