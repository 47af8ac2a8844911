"""Moderation's tables: each tenant's lexicon and its version, and the review cases of held items."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from content_svc.db import Base
from qunyun_shared.db import UtcDateTime


class LexiconTerm(Base):
    """A tenant's own moderation term."""

    __tablename__ = "lexicon_terms"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    term: Mapped[str] = mapped_column(String(100), primary_key=True)
    category: Mapped[str] = mapped_column(String(10))  # sensitive, ad_law, allow
    action: Mapped[str] = mapped_column(String(4))  # mask, hold


class LexiconVersion(Base):
    """Bumped on every lexicon change, so each replica knows when its compiled automaton is stale."""

    __tablename__ = "lexicon_versions"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)


class ReviewCase(Base):
    """A held item waiting for an operator's decision, and the decision once taken."""

    __tablename__ = "review_cases"
    __table_args__ = (Index("ix_review_cases_tenant_status", "tenant_id", "status", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
    content_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("content_items.id"), index=True)
    reasons: Mapped[list[str]] = mapped_column(JSON)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10))  # pending, approved, rejected
    note: Mapped[str | None] = mapped_column(String(500))
    decided_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
