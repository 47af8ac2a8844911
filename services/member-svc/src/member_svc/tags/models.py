"""Tags on members, and the rules that set them."""

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from member_svc.db import Base
from qunyun_shared.db import UtcDateTime


class MemberTag(Base):
    """A tag on a member: set by an operator (manual), by a tag rule (rule) or from analytics (system)."""

    __tablename__ = "member_tags"
    __table_args__ = (Index("ix_member_tags_tenant_tag_member", "tenant_id", "tag", "member_id"),)

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(64), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(10))
    added_at: Mapped[datetime] = mapped_column(UtcDateTime)


class TagRule(Base):
    """A tag every member matching the rule's conditions carries, and no other member."""

    __tablename__ = "tag_rules"
    __table_args__ = (UniqueConstraint("tenant_id", "tag"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
    tag: Mapped[str] = mapped_column(String(64))
    match: Mapped[str] = mapped_column(String(3))
    conditions: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    description: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
