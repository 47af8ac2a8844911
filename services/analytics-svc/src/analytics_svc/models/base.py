"""The declarative base, the platform tables every service carries, and the live member counts."""

import uuid
from datetime import datetime

from sqlalchemy import Integer, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from qunyun_shared.db import UtcDateTime, new_metadata
from qunyun_shared.erasure import erased_members_table
from qunyun_shared.idempotency import idempotency_keys_table
from qunyun_shared.messaging import messaging_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


MESSAGING = messaging_tables(Base.metadata)
ERASED_MEMBERS = erased_members_table(Base.metadata)
# What each write answered, by its Idempotency-Key, for a retry to be answered the same.
IDEMPOTENCY_KEYS = idempotency_keys_table(Base.metadata)


class CommunityMembership(Base):
    """Joins and leaves per community, as counted from `member.joined` and `member.left`."""

    __tablename__ = "community_membership"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    community_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    joined_total: Mapped[int] = mapped_column(Integer, default=0)
    left_total: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
