"""Referral rewards paid, one per campaign, invitee and stage."""

import uuid
from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from campaign_svc.db import Base
from qunyun_shared.db import UtcDateTime


class ReferralReward(Base):
    """What an inviter got (or why not) for an invitee's join or first paid order. The key makes each
    stage pay once; the outcomes other than `rewarded` are kept so an operator can see why."""

    __tablename__ = "referral_rewards"
    __table_args__ = (Index("ix_referral_rewards_campaign_inviter", "campaign_id", "inviter_id"),)

    campaign_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    invitee_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    stage: Mapped[str] = mapped_column(String(12), primary_key=True)  # join | first_order
    tenant_id: Mapped[str] = mapped_column(String(64))
    inviter_id: Mapped[uuid.UUID]
    outcome: Mapped[str] = mapped_column(String(12))  # rewarded | capped | cycle | failed
    detail: Mapped[str | None] = mapped_column(String(300))
    coupon_id: Mapped[uuid.UUID | None]
    at: Mapped[datetime] = mapped_column(UtcDateTime)
