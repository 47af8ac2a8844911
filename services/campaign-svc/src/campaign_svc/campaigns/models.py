"""Campaigns: one row per campaign of any kind, with its window and its budget account, and the quotas
that hold members to per-member limits."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from campaign_svc.db import Base
from qunyun_shared.db import UtcDateTime


class Campaign(Base):
    """A campaign of one kind (`coupon`, `flash_sale`, `group_buy`, `lottery`, `checkin`, `referral`, ...).

    `committed_fen` is what the campaign may still be charged for (issued, unredeemed coupons at their
    most) plus what it has spent; issuing stops when it would pass the budget, so spend never does.
    """

    __tablename__ = "campaigns"
    __table_args__ = (Index("ix_campaigns_tenant_kind_status", "tenant_id", "kind", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(100))
    # The community the campaign is run in; none: every community of the tenant.
    community_id: Mapped[uuid.UUID | None]
    # scheduled -> running -> ended
    status: Mapped[str] = mapped_column(String(12))
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    budget_fen: Mapped[int | None] = mapped_column(BigInteger)
    committed_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    spent_fen: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # The kind's own settings (a flash sale's price and stock, a referral's rewards, ...), as validated.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ended_reason: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class MemberQuota(Base):
    """How much of a per-member limit a member has used in one scope (a coupon template, a flash sale,
    a lottery): claimed by one conditional upsert, so concurrent claims never pass the limit."""

    __tablename__ = "member_quotas"

    scope_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    used: Mapped[int] = mapped_column(BigInteger)
