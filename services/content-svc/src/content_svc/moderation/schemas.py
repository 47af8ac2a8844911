"""Moderation's request and response models: lexicons, checks of a text, review cases and decisions."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from content_svc.items.schemas import Body
from content_svc.moderation import Outcome
from qunyun_shared.schemas import Input, Read


class LexiconEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", from_attributes=True)
    text: Annotated[str, Field(min_length=1, max_length=100)]
    category: Literal["sensitive", "ad_law", "allow"] = "sensitive"
    action: Literal["mask", "hold"] = "hold"


class Lexicon(Input):
    terms: list[LexiconEntry] = Field(max_length=100_000)


class ModerationCheck(Input):
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


class ReviewCaseRead(Read):
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


class ReviewDecision(Input):
    decision: Literal["approve", "reject"]
    note: Annotated[str, Field(max_length=500)] | None = None
