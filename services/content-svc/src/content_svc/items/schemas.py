"""The content library's request and response models: items, members' posts, their targets."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SkipValidation, model_validator

from content_svc.moderation import Outcome
from qunyun_shared.events.analytics import Segment
from qunyun_shared.events.content import ContentType
from qunyun_shared.history import MAX_ROWS, PastTime
from qunyun_shared.schemas import Input, Read

MAX_BODY_CHARS = 20_000

TagName = Annotated[str, Field(min_length=1, max_length=64)]
MediaLink = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^https?://\S+$")]
Title = Annotated[str, Field(max_length=200)]
Body = Annotated[str, Field(max_length=MAX_BODY_CHARS)]
PostKind = Literal["show_order", "contest", "topic_reply"]
OperatorSource = Literal["PGC", "OGC"]
# The merchant's own id for a record of its history: unique within the tenant.
MerchantId = Annotated[str, Field(min_length=1, max_length=128, examples=["M-2025-0001"])]


class Target(Input):
    """Where and to whom an item may go; an empty list sets no limit."""

    communities: list[uuid.UUID] = Field(default=[], max_length=200)
    segments: list[Segment] = Field(default=[], max_length=4)
    tags: list[TagName] = Field(default=[], max_length=50)


class ContentCreate(Input):
    content_type: ContentType = Field(examples=["knowledge"])
    source: OperatorSource = "PGC"
    title: Annotated[str, Field(min_length=1, max_length=200)] = Field(examples=["三分钟早餐 燕麦酸奶杯"])
    body: Body = Field(examples=["准备燕麦 40g、酸奶 150g ……"])
    media: list[MediaLink] = Field(default=[], max_length=9)
    tags: list[TagName] = Field(default=[], max_length=20, examples=[["早餐", "宝妈"]])
    target: Target = Target()


class ContentUpdate(Input):
    """Changes to an operator's item; changed text passes moderation again."""

    title: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    body: Body | None = None
    media: list[MediaLink] | None = Field(default=None, max_length=9)
    tags: list[TagName] | None = Field(default=None, max_length=20)
    target: Target | None = None


class PostCreate(Input):
    """A member's own post (UGC) into a community they are in."""

    member_id: uuid.UUID
    community_id: uuid.UUID
    kind: PostKind = Field(examples=["show_order"])
    title: Title = ""
    body: Annotated[str, Field(min_length=1, max_length=MAX_BODY_CHARS)]
    media: list[MediaLink] = Field(default=[], max_length=9)
    tags: list[TagName] = Field(default=[], max_length=20)
    reply_to: uuid.UUID | None = None

    @model_validator(mode="after")
    def _replies_name_their_topic(self) -> "PostCreate":
        if (self.kind == "topic_reply") != (self.reply_to is not None):
            raise ValueError("a topic_reply names the topic it replies to in reply_to, and only a topic_reply does")
        return self


class ContentHistoryRow(ContentCreate):
    """An operator's item as it was published in the brand's history: where and when."""

    merchant_content_id: MerchantId
    community_ids: list[uuid.UUID] = Field(min_length=1, max_length=50, description="Where it was published.")
    published_at: PastTime = Field(description="When it was published, with a UTC offset; not in the future.")


class ContentHistoryBatch(Input):
    items: list[SkipValidation[ContentHistoryRow]] = Field(min_length=1, max_length=MAX_ROWS)


class PostHistoryRow(PostCreate):
    """A member's post from the brand's history: into which community and when. A reply names its topic by
    our id (`reply_to`) or the merchant's (`reply_to_merchant_content_id`); the topic was imported before."""

    merchant_content_id: MerchantId
    reply_to_merchant_content_id: MerchantId | None = None
    posted_at: PastTime = Field(description="When it was posted, with a UTC offset; not in the future.")

    @model_validator(mode="after")
    def _replies_name_their_topic(self) -> "PostHistoryRow":
        named = (self.reply_to is not None) + (self.reply_to_merchant_content_id is not None)
        if (self.kind == "topic_reply") != (named == 1) or named > 1:
            raise ValueError(
                "a topic_reply names the topic it replies to, in reply_to or reply_to_merchant_content_id (one of "
                "them), and only a topic_reply does"
            )
        return self


class PostHistoryBatch(Input):
    posts: list[SkipValidation[PostHistoryRow]] = Field(min_length=1, max_length=MAX_ROWS)


class Moderation(BaseModel):
    outcome: Outcome
    reasons: list[str]


class ContentRead(Read):
    id: uuid.UUID
    content_type: ContentType
    source: str
    title: str
    body: str
    media: list[str]
    tags: list[str]
    target: Target
    author_member_id: uuid.UUID | None
    post_kind: str | None
    reply_to: uuid.UUID | None
    status: str
    moderation: Moderation
    created_at: datetime
    updated_at: datetime

    @model_validator(mode="before")
    @classmethod
    def _from_item(cls, value: Any) -> Any:
        if isinstance(value, dict) or not hasattr(value, "moderation_outcome"):
            return value
        return {
            **{name: getattr(value, name) for name in cls.model_fields if hasattr(value, name)},
            "target": Target(
                communities=value.target_communities, segments=value.target_segments, tags=value.target_tags
            ),
            "moderation": Moderation(outcome=value.moderation_outcome, reasons=value.moderation_reasons),
        }


class ContentPage(BaseModel):
    items: list[ContentRead]
    next_cursor: str | None
