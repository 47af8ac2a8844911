"""Surveys' request and response models: questions, answers and results."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from content_svc.items.schemas import Body, TagName, Target
from qunyun_shared.schemas import Input, Read

QuestionKind = Literal["nps", "single_choice", "multiple_choice", "text"]


class Question(Input):
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


class SurveyCreate(Input):
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


class SurveyRead(Read):
    id: uuid.UUID
    content_id: uuid.UUID
    questions: list[Question]
    closes_at: datetime | None
    created_at: datetime


class SurveyAnswerCreate(Input):
    member_id: uuid.UUID
    community_id: uuid.UUID | None = None
    answers: dict[str, Any] = Field(examples=[{"nps": 9, "why": "客服很耐心"}])


class SurveyAnswerRead(Read):
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
