"""What analytics knows per member, per order and per content item, kept current from the stream."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from analytics_svc.db import Base
from qunyun_shared.db import UtcDateTime

_MARKED = text("rescore_marked_at IS NOT NULL")


class MemberFacts(Base):
    """A member's activity, purchases and segment. `number` is the member's small integer in the daily
    member sets (compressed bitmaps count distinct members exactly and fast)."""

    __tablename__ = "member_facts"
    # sqlite_autoincrement: an erased member's number is never given again (the sets still hold it).
    __table_args__ = (
        Index("ix_member_facts_tenant_id_segment", "tenant_id", "segment"),
        Index(
            "ix_member_facts_tenant_id_rescore_marked_at",
            "tenant_id",
            "rescore_marked_at",
            sqlite_where=_MARKED,
            postgresql_where=_MARKED,
        ),
        {"sqlite_autoincrement": True},
    )

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    member_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    # Communities the member is in at the latest of their joins and leaves (membership_changes).
    memberships: Mapped[int] = mapped_column(Integer, default=0)
    first_joined_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    inviter_id: Mapped[uuid.UUID | None]
    first_active_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_active_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Engagement as two exponentially decaying counts (half-lives in analytics_svc.activity): their ratio
    # is the member's engagement trend, kept without storing a history.
    engagement_fast: Mapped[float] = mapped_column(Float, default=0.0)
    engagement_slow: Mapped[float] = mapped_column(Float, default=0.0)
    engagement_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # The member's paid orders, summed up from their order facts (ingestion.purchases) whatever order
    # their events came in: paid orders, and the distinct days (reporting zone) they were paid on, which
    # is how the BG/NBD summary counts purchases (two orders on one day are one purchase).
    orders: Mapped[int] = mapped_column(Integer, default=0)
    purchase_days: Mapped[int] = mapped_column(Integer, default=0)
    first_order_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_order_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    spend_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    # What the first purchase day's orders came to: a repeat buyer's average spend per purchase day, which
    # the spend model wants, leaves it out.
    first_day_fen: Mapped[int | None] = mapped_column(BigInteger)
    # The decisions announced when they change; the scores behind them are computed when asked.
    segment: Mapped[str | None] = mapped_column(String(12))
    churn_flagged: Mapped[bool] = mapped_column(default=False)
    scored_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # When imported history last added to the member's facts without their being rescored: such a member
    # awaits the sweep that rescores them once the tenant's history has stopped coming in
    # (analytics_svc.scoring.marks); None once rescored.
    rescore_marked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class MemberCommunity(Base):
    """A community a member has joined, with their first join of it: a join of a community the member was
    in before is a return, not a new member of it. Erased with the member."""

    __tablename__ = "member_communities"

    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    community_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    first_joined_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    inviter_id: Mapped[uuid.UUID | None]


class MembershipChange(Base):
    """A join or a leave of one community by one member, at the time the event says it happened: the
    member's history of memberships, from which the days they entered the brand (from no community to
    one) and left it (from one to none) follow whatever order the events arrive in. Erased with the
    member."""

    __tablename__ = "membership_changes"

    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    community_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    joined: Mapped[bool] = mapped_column(primary_key=True)  # false: left
    tenant_id: Mapped[str] = mapped_column(String(64))


class OrderFact(Base):
    """An order as the funnel, repurchase and revenue cohorts need it."""

    __tablename__ = "order_facts"
    __table_args__ = (Index("ix_order_facts_tenant_id_member_id_placed_at", "tenant_id", "member_id", "placed_at"),)

    order_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[uuid.UUID]
    community_id: Mapped[uuid.UUID | None]
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    campaign_id: Mapped[uuid.UUID | None]
    content_id: Mapped[uuid.UUID | None]
    inviter_id: Mapped[uuid.UUID | None]


class ContentFact(Base):
    """A content item's kind and what members did with it, for top content and participation."""

    __tablename__ = "content_facts"
    __table_args__ = (Index("ix_content_facts_tenant_id_posted_at", "tenant_id", "posted_at"),)

    content_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    community_id: Mapped[uuid.UUID | None]
    content_type: Mapped[str | None] = mapped_column(String(12))
    source: Mapped[str | None] = mapped_column(String(3))
    posted_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    views: Mapped[int] = mapped_column(Integer, default=0)
    completes: Mapped[int] = mapped_column(Integer, default=0)
    likes: Mapped[int] = mapped_column(Integer, default=0)
    comments: Mapped[int] = mapped_column(Integer, default=0)
    shares: Mapped[int] = mapped_column(Integer, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
