"""content-svc tables."""

import uuid
from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from qunyun_shared.db import UtcDateTime, new_metadata
from qunyun_shared.erasure import erased_members_table
from qunyun_shared.messaging import messaging_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


MESSAGING = messaging_tables(Base.metadata)
ERASED_MEMBERS = erased_members_table(Base.metadata)


class AudienceMember(Base):
    """Who is in each community, learned from `member.joined`/`member.left`: the audience content targets."""

    __tablename__ = "audience_members"

    community_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    joined_at: Mapped[datetime] = mapped_column(UtcDateTime)
