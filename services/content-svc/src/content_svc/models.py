"""content-svc tables, declared on `content_svc.db.Base` beside the platform tables."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from content_svc.db import Base
from qunyun_shared.db import UtcDateTime


class Community(Base):
    """A community as member-svc announced it (`community.opened`), with the push policy operators set here."""

    __tablename__ = "communities"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Flooding policy: pushes per local day, and the largest share of promotion in any rolling week.
    max_pushes_per_day: Mapped[int] = mapped_column(Integer, default=5, server_default="5")
    max_promotion_share: Mapped[float] = mapped_column(Float, default=0.3, server_default="0.3")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai", server_default="Asia/Shanghai")


class AudienceMember(Base):
    """Who is in each community, learned from `member.joined`/`member.left`: the audience content targets."""

    __tablename__ = "audience_members"

    community_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MemberTag(Base):
    """A tag member-svc put on a member (`member.tagged`), for targeting and persona defaults."""

    __tablename__ = "member_tags"
    __table_args__ = (Index("ix_member_tags_tenant_tag", "tenant_id", "tag"),)

    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))


class MemberSegment(Base):
    """A member's value segment as analytics-svc last judged it (`member.segment_changed`)."""

    __tablename__ = "member_segments"

    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    segment: Mapped[str] = mapped_column(String(12))


class ContentItem(Base):
    """A piece of content: written by the brand (PGC), an invited expert (OGC) or a member (UGC)."""

    __tablename__ = "content_items"
    __table_args__ = (
        Index("ix_content_items_tenant_created", "tenant_id", "created_at"),
        # Repeated-message detection looks up a member's recent posts by fingerprint.
        Index("ix_content_items_author_fingerprint", "tenant_id", "author_member_id", "fingerprint"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(String(3))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    media: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Where and to whom it may go: empty means no restriction.
    target_communities: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_segments: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    # UGC: who wrote it, what kind of post, and the topic it replies to.
    author_member_id: Mapped[uuid.UUID | None] = mapped_column()
    post_kind: Mapped[str | None] = mapped_column(String(20))
    reply_to: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("content_items.id"))
    fingerprint: Mapped[str | None] = mapped_column(String(32))
    # ready (may be published), held (awaits review), rejected, withdrawn, erased (its author was).
    status: Mapped[str] = mapped_column(String(10))
    moderation_outcome: Mapped[str] = mapped_column(String(4))
    moderation_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Placement(Base):
    """One item on one community's calendar: scheduled, then published exactly once (or cancelled)."""

    __tablename__ = "placements"
    __table_args__ = (
        UniqueConstraint("content_id", "community_id", "publish_at"),
        # The publisher's scan for what is due.
        Index("ix_placements_status_publish_at", "status", "publish_at"),
        # Flooding checks and the calendar read a community's pushes around a time.
        Index("ix_placements_community_publish_at", "community_id", "publish_at"),
        # Feeds read a community's publications newest first.
        Index("ix_placements_community_published_at", "community_id", "published_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
    content_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("content_items.id"), index=True)
    community_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("communities.id"))
    # Copied from the item: flooding policy counts promotions without a join.
    content_type: Mapped[str] = mapped_column(String(12))
    publish_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(10))  # scheduled, published, cancelled
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Members of the community when it was published: the denominator of the read rate.
    audience_size: Mapped[int | None] = mapped_column(Integer)


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


class Engagement(Base):
    """One member action on one item, as reported by a front-end."""

    __tablename__ = "engagements"
    __table_args__ = (
        # A front-end's id is unique within its tenant only: another tenant's front-end may send the same.
        PrimaryKeyConstraint("tenant_id", "id"),
        # Item statistics count distinct members per action.
        Index("ix_engagements_content_action_member", "content_id", "action", "member_id"),
        Index("ix_engagements_member_occurred", "tenant_id", "member_id", "occurred_at"),
    )

    # Given by the front-end when it has one, so a batch sent twice is counted once.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("content_items.id"))
    member_id: Mapped[uuid.UUID] = mapped_column()
    community_id: Mapped[uuid.UUID | None] = mapped_column()
    action: Mapped[str] = mapped_column(String(8))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CommunityHourActivity(Base):
    """Engagements per local hour of the day in a community: the histogram behind best-slot suggestions."""

    __tablename__ = "community_hour_activity"

    community_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    hour: Mapped[int] = mapped_column(Integer, primary_key=True)
    engagements: Mapped[int] = mapped_column(BigInteger)


class MemberAffinity(Base):
    """How much a member engages with a content tag, learned from their actions (千人千面)."""

    __tablename__ = "member_affinity"

    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    weight: Mapped[float] = mapped_column(Float)


class AttributedOrder(Base):
    """An order credited to an item (`order.placed` with the item in its attribution)."""

    __tablename__ = "attributed_orders"

    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    content_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("content_items.id"), index=True)
    member_id: Mapped[uuid.UUID] = mapped_column()
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime)


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


__all__ = [
    "AttributedOrder",
    "AudienceMember",
    "Base",
    "Community",
    "CommunityHourActivity",
    "ContentItem",
    "Engagement",
    "LexiconTerm",
    "LexiconVersion",
    "MemberAffinity",
    "MemberSegment",
    "MemberTag",
    "Placement",
    "ReviewCase",
    "Survey",
    "SurveyAnswer",
]
