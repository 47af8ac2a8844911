"""Invitations members send to communities."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from member_svc.db import Base
from qunyun_shared.db import UtcDateTime


class Invitation(Base):
    """An invitation a member sent to a community: what referral analytics counts as an invite, whether
    or not anyone accepts it. Deleted with the member's personal data."""

    __tablename__ = "invitations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
    inviter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), index=True)
    community_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("communities.id"))
    channel: Mapped[str] = mapped_column(String(10))
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)
