"""Engagement's request and response models: batches of member actions, receipts, item statistics."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, SkipValidation, model_validator

from content_svc.items.schemas import MerchantId
from qunyun_shared.events.content import EngagementAction
from qunyun_shared.history import MAX_ROWS, PastTime
from qunyun_shared.schemas import Input, Read

MAX_ENGAGEMENT_BATCH = 1_000


class EngagementRow(Input):
    """One action; checked row by row so one bad row does not cost the others."""

    id: uuid.UUID | None = Field(default=None, description="The front-end's id for the action: resending it is safe.")
    content_id: uuid.UUID
    member_id: uuid.UUID
    community_id: uuid.UUID | None = None
    action: EngagementAction
    occurred_at: AwareDatetime


class EngagementBatch(Input):
    actions: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_ENGAGEMENT_BATCH)


class EngagementHistoryRow(Input):
    """A member's action from the brand's history, on an item published (or imported) here before it."""

    merchant_action_id: MerchantId
    member_id: uuid.UUID
    content_id: uuid.UUID | None = Field(default=None, description="The item, by our id; or:")
    merchant_content_id: MerchantId | None = Field(default=None, description="the item, by the merchant's id.")
    community_id: uuid.UUID | None = Field(
        default=None, description="Where it happened; left out, the item's only community if it went to one."
    )
    action: EngagementAction
    occurred_at: PastTime = Field(description="When it happened, with a UTC offset: after the item was published.")

    @model_validator(mode="after")
    def _names_its_content_once(self) -> "EngagementHistoryRow":
        if (self.content_id is None) == (self.merchant_content_id is None):
            raise ValueError("name the item by content_id or by merchant_content_id: exactly one of them")
        return self


class EngagementHistoryBatch(Input):
    actions: list[SkipValidation[EngagementHistoryRow]] = Field(min_length=1, max_length=MAX_ROWS)


class RejectedRow(BaseModel):
    index: int
    detail: str


class EngagementReceipt(BaseModel):
    accepted: int
    duplicates: int = Field(description="Rows whose id was accepted before: counted once.")
    rejected: list[RejectedRow]


class ContentStats(BaseModel):
    content_id: uuid.UUID
    audience: int = Field(description="Members of the communities it was published to, at publication.")
    reach: int = Field(description="Distinct members who acted on it in any way.")
    readers: int
    read_rate: float = Field(description="readers / audience")
    completion_rate: float = Field(description="members who read to the end / readers")
    interaction_rate: float = Field(description="members who liked, commented or shared / reach")
    likes: int
    comments: int
    shares: int
    clicks: int
    click_through_rate: float = Field(description="members who clicked / readers")
    orders: int
    gmv_fen: int


class EngagementRead(Read):
    content_id: uuid.UUID
    community_id: uuid.UUID | None
    action: EngagementAction
    occurred_at: datetime
