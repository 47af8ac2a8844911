"""Events published by content-svc."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import Field

from qunyun_shared.events.base import EventPayload, event

ContentType = Literal["knowledge", "scenario", "activity", "promotion"]
EngagementAction = Literal["view", "complete", "like", "comment", "share", "click"]


@event("content.posted", 1, producer="content-svc", summary="A content item was published to a community.")
class ContentPostedV1(EventPayload):
    subject_field = "content_id"
    content_id: UUID
    community_id: UUID
    content_type: ContentType
    source: Literal["PGC", "UGC", "OGC"]
    author_member_id: UUID | None = None
    posted_at: datetime


@event(
    "content.engaged",
    1,
    producer="content-svc",
    summary="A member viewed, completed, liked, commented, shared or clicked.",
)
class ContentEngagedV1(EventPayload):
    content_id: UUID
    member_id: UUID
    community_id: UUID | None = None
    # Carried so that consumers need not have seen the item's `content.posted` first: it is on another
    # partition and may come later.
    content_type: ContentType | None = None
    action: EngagementAction
    occurred_at: datetime


@event(
    "content.moderated",
    1,
    producer="content-svc",
    summary="A text passed moderation, was masked or held for review; or a reviewer passed or rejected it.",
)
class ContentModeratedV1(EventPayload):
    subject_field = "content_id"
    content_id: UUID
    outcome: Literal["pass", "mask", "hold", "reject"]
    reasons: list[str] = []
    source: Literal["PGC", "UGC", "OGC"] | None = None
    author_member_id: UUID | None = None
    # Who decided, when an operator reviewed a held text; none for the automatic verdict.
    reviewed_by: str | None = None


@event("survey.answered", 1, producer="content-svc", summary="A member answered a questionnaire or an NPS survey.")
class SurveyAnsweredV1(EventPayload):
    survey_id: UUID
    member_id: UUID
    community_id: UUID | None = None
    nps: int | None = Field(default=None, ge=0, le=10)
    answers: dict[str, Any] = {}
