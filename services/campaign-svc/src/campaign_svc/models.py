"""campaign-svc tables."""

import uuid
from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from qunyun_shared.db import UtcDateTime, new_metadata
from qunyun_shared.erasure import erased_members_table
from qunyun_shared.messaging import messaging_tables


class Base(DeclarativeBase):
    metadata = new_metadata()


MESSAGING = messaging_tables(Base.metadata)
ERASED_MEMBERS = erased_members_table(Base.metadata)


class Prospect(Base):
    """A member campaigns can reach, learned from `member.joined`: who invited them and how often they joined.

    The inviter is what referral rewards pay; the first join is what the welcome pack keys on.
    """

    __tablename__ = "prospects"

    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    inviter_id: Mapped[uuid.UUID | None]
    first_joined_at: Mapped[datetime] = mapped_column(UtcDateTime)
    communities_joined: Mapped[int] = mapped_column(Integer)
