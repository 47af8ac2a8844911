"""Check-in challenges: members' daily check-ins and the milestones they reached."""

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from campaign_svc.db import Base
from qunyun_shared.db import UtcDateTime


class Checkin(Base):
    """A member's check-in on one local day of the tenant; the unique key makes a second one that day
    (even a concurrent one) fail."""

    __tablename__ = "checkins"
    __table_args__ = (
        UniqueConstraint("campaign_id", "member_id", "day"),
        Index("ix_checkins_tenant_member", "tenant_id", "member_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"))
    member_id: Mapped[uuid.UUID]
    day: Mapped[date] = mapped_column(Date)
    streak: Mapped[int] = mapped_column(Integer)
    checked_in_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CheckinMilestone(Base):
    """A milestone a member reached: the key makes its reward granted once, however often the streak
    comes back to it. A reward that could not be issued is noted and not tried again."""

    __tablename__ = "checkin_milestones"
    __table_args__ = (Index("ix_checkin_milestones_tenant_member", "tenant_id", "member_id"),)

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    day: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    reached_on: Mapped[date] = mapped_column(Date)
    granted: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    grant_error: Mapped[str | None] = mapped_column(String(500))
