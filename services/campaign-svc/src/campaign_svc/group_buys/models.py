"""Group-buy (拼团) teams and their seats."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from campaign_svc.db import Base
from qunyun_shared.db import UtcDateTime


class Team(Base):
    """A team forming around its leader: complete when `joined` reaches `size` before `expires_at`,
    expired otherwise (its orders cancelled or refunded). Status: forming -> completed | expired."""

    __tablename__ = "groupbuy_teams"
    __table_args__ = (Index("ix_groupbuy_teams_status_expires", "status", "expires_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id"), index=True)
    leader_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(10))
    size: Mapped[int] = mapped_column(Integer)
    joined: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Seat(Base):
    """A member's place in a team, held by their order."""

    __tablename__ = "groupbuy_seats"

    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("groupbuy_teams.id"), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    order_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime)
