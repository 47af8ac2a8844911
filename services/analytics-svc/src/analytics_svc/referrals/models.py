"""What referral analytics reads besides members' facts: the invitations members sent, and the campaigns
that ran, whose windows referral campaigns are measured over."""

import uuid
from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from analytics_svc.db import Base
from qunyun_shared.db import UtcDateTime


class InvitationFact(Base):
    """An invitation a member sent. An erased inviter's stay counted under a stranger's id."""

    __tablename__ = "invitation_facts"
    __table_args__ = (Index("ix_invitation_facts_tenant_id_sent_at", "tenant_id", "sent_at"),)

    invitation_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    inviter_id: Mapped[uuid.UUID] = mapped_column(index=True)
    community_id: Mapped[uuid.UUID]
    sent_at: Mapped[datetime] = mapped_column(UtcDateTime)


class CampaignRun(Base):
    """A campaign from its start to its end (open while it runs)."""

    __tablename__ = "campaign_runs"
    __table_args__ = (Index("ix_campaign_runs_tenant_id_kind", "tenant_id", "kind"),)

    campaign_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
