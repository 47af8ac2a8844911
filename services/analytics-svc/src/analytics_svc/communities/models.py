"""Per community: the live member counts, and the stage and health the periodic evaluation keeps, compared
with at the next one."""

import uuid
from datetime import datetime

from sqlalchemy import Float, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from analytics_svc.db import Base
from qunyun_shared.db import UtcDateTime


class CommunityMembership(Base):
    """Joins and leaves per community, as counted from `member.joined` and `member.left`."""

    __tablename__ = "community_membership"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    community_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    joined_total: Mapped[int] = mapped_column(Integer, default=0)
    left_total: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class CommunityState(Base):
    """A community's lifecycle stage and health as last evaluated (stage changes are announced)."""

    __tablename__ = "community_states"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    community_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    stage: Mapped[str | None] = mapped_column(String(8))
    health: Mapped[float | None] = mapped_column(Float)
    evaluated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
