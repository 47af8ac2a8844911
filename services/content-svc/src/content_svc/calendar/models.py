"""The calendar's table: each item's placements in communities."""

import uuid
from datetime import datetime

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from content_svc.db import Base
from qunyun_shared.db import UtcDateTime


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
