"""Surveys' tables: each survey and the members' answers to it."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from content_svc.db import Base
from qunyun_shared.db import UtcDateTime


class Survey(Base):
    """A questionnaire or NPS survey, carried to members by an interactive content item."""

    __tablename__ = "surveys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    content_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("content_items.id"), unique=True)
    questions: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    closes_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SurveyAnswer(Base):
    """One member's answers to one survey; free text as moderation left it."""

    __tablename__ = "survey_answers"
    __table_args__ = (UniqueConstraint("survey_id", "member_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
    survey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("surveys.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(index=True)
    community_id: Mapped[uuid.UUID | None] = mapped_column()
    nps: Mapped[int | None] = mapped_column(Integer)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    answered_at: Mapped[datetime] = mapped_column(UtcDateTime)
