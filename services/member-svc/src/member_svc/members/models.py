"""Members' profiles and the activity counted off events for their lifecycle."""

import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint, func
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from member_svc.db import Base
from qunyun_shared.db import UtcDateTime


class Member(Base):
    """A member's profile. Identifiers are kept only encrypted, with a keyed hash to find them by."""

    __tablename__ = "members"
    __table_args__ = (
        # Search pages through a tenant's members in id order.
        Index("ix_members_tenant_id_id", "tenant_id", "id"),
        UniqueConstraint("tenant_id", "phone_hash", name="uq_members_tenant_phone"),
        UniqueConstraint("tenant_id", "invite_code", name="uq_members_tenant_invite_code"),
        UniqueConstraint("tenant_id", "merchant_member_id", name="uq_members_tenant_merchant_member_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
    # The merchant's own id for the member (their shop's or older SCRM's), unique per tenant: what imports and
    # pushes name the member by. Kept on an erased member's tombstone, so history naming them stays theirs.
    merchant_member_id: Mapped[str | None] = mapped_column(String(64))
    nickname: Mapped[str] = mapped_column(String(64))
    gender: Mapped[str | None] = mapped_column(String(10))
    age_band: Mapped[str | None] = mapped_column(String(10))
    birthday: Mapped[str | None] = mapped_column(String(5))  # MM-DD
    region: Mapped[str | None] = mapped_column(String(64))
    persona_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    active_hours: Mapped[list[int]] = mapped_column(JSON, default=list)
    level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # prospect -> active (an order or an activity) -> loyal (two orders or a friend referred); never back.
    lifecycle: Mapped[str] = mapped_column(String(10), default="prospect", server_default="prospect")
    # From analytics-svc: the value segment (`member.segment_changed`) and the churn-risk flag
    # (`member.churn_risk`), which analytics-svc clears, and so does the member's next order or activity.
    segment: Mapped[str | None] = mapped_column(String(12))
    churn_risk: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    churn_score: Mapped[float | None]
    churn_flagged_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Referral tree: who first brought the member in (fixed at their first invited join), and the code
    # they share to bring others.
    invited_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("members.id"), index=True)
    invite_code: Mapped[str | None] = mapped_column(String(16))
    phone_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    # Of a member brought in by a history import: the digest of the row they came from, so that the same row
    # sent again is recognised (unchanged) and a different one under their merchant id is refused.
    history_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class MemberActivity(Base):
    """What a member has done, as counted from the events that drive lifecycle and tag rules."""

    __tablename__ = "member_activity"

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    orders: Mapped[int] = mapped_column(Integer, default=0)
    order_total_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    # Activities taken part in: check-ins and answered surveys.
    participations: Mapped[int] = mapped_column(Integer, default=0)
    last_active_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
