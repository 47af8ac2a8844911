"""What content-svc knows of communities and members, learned from events: the communities, who is in
them, and the tags and segment each member carries."""

import uuid
from datetime import datetime

from sqlalchemy import (
    Float,
    Index,
    Integer,
    String,
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
