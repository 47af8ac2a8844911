"""Communities and who is in them: seats, the waitlist, applications, joins and leaves, and the
purchases entry rules look at."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from member_svc.db import Base
from qunyun_shared.db import UtcDateTime


class Community(Base):
    __tablename__ = "communities"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    tier: Mapped[str] = mapped_column(String(20))
    capacity: Mapped[int] = mapped_column(Integer)
    # Kept on the row so a join can claim a seat atomically (UPDATE ... WHERE member_count < capacity).
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    # What a join into a full community does: queue on the waitlist, or go to a sibling ("…2").
    overflow: Mapped[str] = mapped_column(String(10), default="waitlist", server_default="waitlist")
    sibling_of: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("communities.id"))
    # Who may enter: open, invite_only, purchased_product, min_level, or approval (with a questionnaire).
    entry_rule: Mapped[str] = mapped_column(String(20), default="open", server_default="open")
    entry_product_id: Mapped[str | None] = mapped_column(String(64))
    entry_min_level: Mapped[int | None]
    questionnaire: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    # Lifecycle stage as analytics-svc judges it (`community.stage_changed`); none until it has.
    stage: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    # When it really opened: its creation, or earlier for an imported brand's community; no join before it.
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    archived_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Membership(Base):
    __tablename__ = "memberships"

    community_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("communities.id"), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True, index=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(20))
    inviter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MembershipRecord(Base):
    """Every join, leave and removal, kept after the membership itself is gone."""

    __tablename__ = "membership_records"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
    community_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("communities.id"))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), index=True)
    action: Mapped[str] = mapped_column(String(10))
    at: Mapped[datetime] = mapped_column(UtcDateTime)


class WaitlistEntry(Base):
    """A member waiting for a seat in a full community; admitted first come, first served."""

    __tablename__ = "waitlist"

    community_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("communities.id"), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(20))
    inviter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    queued_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class Application(Base):
    """A request to join a community that admits by approval, with the member's answers."""

    __tablename__ = "applications"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
    community_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("communities.id"), index=True)
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    inviter_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"))
    answers: Mapped[dict[str, str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    reason: Mapped[str | None] = mapped_column(String(200))
    applied_at: Mapped[datetime] = mapped_column(UtcDateTime)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Purchase(Base):
    """A product a member has ordered (from `order.placed`), for communities that admit buyers."""

    __tablename__ = "purchases"

    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    product_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    first_ordered_at: Mapped[datetime] = mapped_column(UtcDateTime)
