"""Per day and community (and for the whole tenant, as community ALL): counts, and the sets of members
who did something, from which every KPI of a period is computed."""

import uuid
from datetime import date

from sqlalchemy import BigInteger, Date, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from analytics_svc.db import Base

# The whole tenant, stored beside its communities so that a tenant-wide figure is one row, not a sum.
ALL = uuid.UUID(int=0)


class DailyCount(Base):
    __tablename__ = "daily_counts"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    community_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


class DailyMembers(Base):
    """The members (by `MemberFacts.number`) who did `kind` that day, as a serialised roaring bitmap:
    the distinct members of any period are the union of its days, counted exactly."""

    __tablename__ = "daily_members"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    community_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    members: Mapped[bytes] = mapped_column(LargeBinary)
