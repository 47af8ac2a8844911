"""The feed's response models."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from content_svc.items.schemas import ContentRead


class FeedEntry(BaseModel):
    content: ContentRead
    community_id: uuid.UUID
    published_at: datetime
    affinity: float = Field(description="0..1: how much the member engages with this item's tags.")


class FeedPage(BaseModel):
    entries: list[FeedEntry]
    next_cursor: str | None
