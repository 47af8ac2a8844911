"""Engagement's tables: members' actions on items, and what they teach (each community's reading hours,
each member's tag affinity); orders credited to items."""

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from content_svc.db import Base
from qunyun_shared.db import UtcDateTime


class Engagement(Base):
    """One member action on one item, as reported by a front-end."""

    __tablename__ = "engagements"
    __table_args__ = (
        # A front-end's id is unique within its tenant only: another tenant's front-end may send the same.
        PrimaryKeyConstraint("tenant_id", "id"),
        # Item statistics count distinct members per action.
        Index("ix_engagements_content_action_member", "content_id", "action", "member_id"),
        Index("ix_engagements_member_occurred", "tenant_id", "member_id", "occurred_at"),
        # History imports name actions by the merchant's own id, unique within the tenant.
        Index("ix_engagements_tenant_merchant_action_id", "tenant_id", "merchant_action_id", unique=True),
    )

    # Given by the front-end when it has one, so a batch sent twice is counted once.
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("content_items.id"))
    member_id: Mapped[uuid.UUID] = mapped_column()
    community_id: Mapped[uuid.UUID | None] = mapped_column()
    action: Mapped[str] = mapped_column(String(8))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Imported history: the merchant's id for the action (none for live reports).
    merchant_action_id: Mapped[str | None] = mapped_column(String(128))


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
