"""What campaigns know of a member, learned from member-svc's, content-svc's and analytics' events."""

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from campaign_svc.db import Base
from qunyun_shared.db import UtcDateTime


class Member(Base):
    """A member as campaigns see them: who invited them, whether marketing may reach them, their level
    and churn flag for rule conditions, their engagement for win-back and targeting."""

    __tablename__ = "members"
    # The daily birthday sweep looks a tenant's members up by month and day.
    __table_args__ = (Index("ix_members_tenant_id_birthday", "tenant_id", "birthday"),)

    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    inviter_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    first_joined_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    communities_joined: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # No marketing touch without consent (PIPL): unknown means not given.
    marketing_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    consent_changed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    churn_risk: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # Month and day only ("MM-DD"): all a birthday perk needs.
    birthday: Mapped[str | None] = mapped_column(String(5))
    engagements: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_engaged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
