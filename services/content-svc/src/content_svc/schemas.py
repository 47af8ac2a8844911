"""content-svc API models."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from qunyun_shared.events.analytics import Segment
from qunyun_shared.events.content import ContentType, EngagementAction

MAX_BODY_CHARS = 20_000
MAX_ENGAGEMENT_BATCH = 1_000

TagName = Annotated[str, Field(min_length=1, max_length=64)]
MediaLink = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^https?://\S+$")]
Title = Annotated[str, Field(max_length=200)]
Body = Annotated[str, Field(max_length=MAX_BODY_CHARS)]
PostKind = Literal["show_order", "contest", "topic_reply"]
OperatorSource = Literal["PGC", "OGC"]
Outcome = Literal["pass", "mask", "hold"]


class Target(BaseModel):
    """Where and to whom an item may go; an empty list sets no limit."""

    model_config = ConfigDict(extra="forbid")
    communities: list[uuid.UUID] = Field(default=[], max_length=200)
    segments: list[Segment] = Field(default=[], max_length=4)
    tags: list[TagName] = Field(default=[], max_length=50)


class ContentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content_type: ContentType = Field(examples=["knowledge"])
    source: OperatorSource = "PGC"
    title: Annotated[str, Field(min_length=1, max_length=200)] = Field(examples=["三分钟早餐 燕麦酸奶杯"])
    body: Body = Field(examples=["准备燕麦 40g、酸奶 150g ……"])
    media: list[MediaLink] = Field(default=[], max_length=9)
    tags: list[TagName] = Field(default=[], max_length=20, examples=[["早餐", "宝妈"]])
    target: Target = Target()


class ContentUpdate(BaseModel):
    """Changes to an operator's item; changed text passes moderation again."""

    model_config = ConfigDict(extra="forbid")
    title: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    body: Body | None = None
    media: list[MediaLink] | None = Field(default=None, max_length=9)
    tags: list[TagName] | None = Field(default=None, max_length=20)
    target: Target | None = None


class PostCreate(BaseModel):
    """A member's own post (UGC) into a community they are in."""

    model_config = ConfigDict(extra="forbid")
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


class Moderation(BaseModel):
    outcome: Outcome
    reasons: list[str]


class ContentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
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


class ScheduleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    community_ids: list[uuid.UUID] = Field(min_length=1, max_length=50)
    publish_at: AwareDatetime = Field(description="When to publish; in the future, with a UTC offset.")


class PlacementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
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
    timezone: str = Field(examples=["Asia/Shanghai"])

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class SlotSuggestion(BaseModel):
    community_id: uuid.UUID
    basis: Literal["engagement", "persona", "default"]
    personas: list[str] = Field(description="The audience personas the hours came from, when basis is persona.")
    hours: list[int] = Field(description="Local hours of the day, best first.")
    slots: list[datetime] = Field(description="The next times at those hours the community's policy still allows.")


class CommunityAudience(BaseModel):
    community_id: uuid.UUID
    members: int


class LexiconEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)
    text: Annotated[str, Field(min_length=1, max_length=100)]
    category: Literal["sensitive", "ad_law", "allow"] = "sensitive"
    action: Literal["mask", "hold"] = "hold"


class Lexicon(BaseModel):
    model_config = ConfigDict(extra="forbid")
    terms: list[LexiconEntry] = Field(max_length=100_000)


class ModerationCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: Body
    ugc: bool = False


class FindingRead(BaseModel):
    field: Literal["title", "body", "text"] = "text"
    kind: str
    start: int
    end: int
    action: Literal["mask", "hold"]
    reason: str


class VerdictRead(BaseModel):
    outcome: Outcome
    text: str
    reasons: list[str]
    findings: list[FindingRead]


class ReviewCaseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    content_id: uuid.UUID
    reasons: list[str]
    findings: list[FindingRead]
    status: Literal["pending", "approved", "rejected", "superseded"]
    note: str | None
    decided_by: str | None
    created_at: datetime
    decided_at: datetime | None


class ReviewPage(BaseModel):
    cases: list[ReviewCaseRead]
    next_cursor: str | None


class ReviewDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject"]
    note: Annotated[str, Field(max_length=500)] | None = None


class EngagementRow(BaseModel):
    """One action; checked row by row so one bad row does not cost the others."""

    model_config = ConfigDict(extra="forbid")
    id: uuid.UUID | None = Field(default=None, description="The front-end's id for the action: resending it is safe.")
    content_id: uuid.UUID
    member_id: uuid.UUID
    community_id: uuid.UUID | None = None
    action: EngagementAction
    occurred_at: AwareDatetime


class EngagementBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    actions: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_ENGAGEMENT_BATCH)


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


class FeedEntry(BaseModel):
    content: ContentRead
    community_id: uuid.UUID
    published_at: datetime
    affinity: float = Field(description="0..1: how much the member engages with this item's tags.")


class FeedPage(BaseModel):
    entries: list[FeedEntry]
    next_cursor: str | None


class EngagementRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    content_id: uuid.UUID
    community_id: uuid.UUID | None
    action: EngagementAction
    occurred_at: datetime


QuestionKind = Literal["nps", "single_choice", "multiple_choice", "text"]


class Question(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
    text: Annotated[str, Field(min_length=1, max_length=500)]
    kind: QuestionKind
    options: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(default=[], max_length=50)
    required: bool = True

    @model_validator(mode="after")
    def _choices_have_options(self) -> "Question":
        if self.kind.endswith("_choice") and len(self.options) < 2:
            raise ValueError(f"question {self.id}: a choice question offers at least two options")
        if not self.kind.endswith("_choice") and self.options:
            raise ValueError(f"question {self.id}: only choice questions have options")
        return self


class SurveyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Annotated[str, Field(min_length=1, max_length=200)] = Field(examples=["你会把我们推荐给朋友吗"])
    body: Body = ""
    tags: list[TagName] = Field(default=[], max_length=20)
    target: Target = Target()
    questions: list[Question] = Field(min_length=1, max_length=50)
    closes_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _one_nps_question_at_most(self) -> "SurveyCreate":
        ids = [q.id for q in self.questions]
        if len(set(ids)) != len(ids):
            raise ValueError("question ids must be unique")
        if sum(q.kind == "nps" for q in self.questions) > 1:
            raise ValueError("a survey asks at most one NPS question")
        return self


class SurveyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    content_id: uuid.UUID
    questions: list[Question]
    closes_at: datetime | None
    created_at: datetime


class SurveyAnswerCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    member_id: uuid.UUID
    community_id: uuid.UUID | None = None
    answers: dict[str, Any] = Field(examples=[{"nps": 9, "why": "客服很耐心"}])


class SurveyAnswerRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    survey_id: uuid.UUID
    member_id: uuid.UUID
    nps: int | None
    answers: dict[str, Any]
    answered_at: datetime


class QuestionResult(BaseModel):
    id: str
    kind: QuestionKind
    answered: int
    counts: dict[str, int] = Field(description="Per option, or per score for NPS.")
    texts: list[str] = Field(description="Free-text answers, newest first (at most 50), as moderation left them.")


class SurveyResults(BaseModel):
    survey_id: uuid.UUID
    respondents: int
    nps: float | None = Field(description="% promoters (9-10) minus % detractors (0-6), from -100 to 100.")
    promoters: int
    passives: int
    detractors: int
    questions: list[QuestionResult]
