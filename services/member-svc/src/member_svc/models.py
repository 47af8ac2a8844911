"""member-svc tables."""

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from member_svc.communities import models as communities
from member_svc.db import Base
from member_svc.referrals import models as referrals
from qunyun_shared.db import UtcDateTime


class Member(Base):
    """A member's profile. Identifiers are kept only encrypted, with a keyed hash to find them by."""

    __tablename__ = "members"
    __table_args__ = (
        # Search pages through a tenant's members in id order.
        Index("ix_members_tenant_id_id", "tenant_id", "id"),
        UniqueConstraint("tenant_id", "phone_hash", name="uq_members_tenant_phone"),
        UniqueConstraint("tenant_id", "invite_code", name="uq_members_tenant_invite_code"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
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
    # (`member.churn_risk`), which the member's next order or activity clears.
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
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Consent(Base):
    """One consent decision, as given or withdrawn; the latest per purpose is in force. Never updated."""

    __tablename__ = "consents"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), index=True)
    purpose: Mapped[str] = mapped_column(String(20))
    granted: Mapped[bool]
    source: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PointsPolicy(Base):
    """A tenant's earn rules, expiry and levels; tenants without one use the defaults in `points`."""

    __tablename__ = "points_policies"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # {action: {"points": n, "daily_limit": n | null}} for join, checkin, post, comment, per_yuan, referral.
    earn_rules: Mapped[dict[str, dict[str, int | None]]] = mapped_column(JSON)
    expiry_days: Mapped[int | None]
    # Whole days are counted in the tenant's time zone (daily limits, check-in days).
    timezone: Mapped[str] = mapped_column(String(64))
    # [{"level": n, "name": str, "threshold": lifetime points, "privileges": [str]}], ascending.
    levels: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class PointsAccount(Base):
    """A member's points. `balance - debt` always equals the sum of their ledger; at most one is non-zero."""

    __tablename__ = "points_accounts"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("debt >= 0", name="debt_not_negative"),
    )

    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    balance: Mapped[int] = mapped_column(Integer, default=0)
    # Claw-backs the balance could not cover (the points were spent already): paid from the next earns.
    debt: Mapped[int] = mapped_column(Integer, default=0)
    # Points ever earned less claw-backs; levels follow it, so spending never demotes.
    lifetime: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class PointsEntry(Base):
    """One line of the append-only points ledger. Earned lines are lots: `remaining` is what is left of
    them to spend, oldest expiry first, and what expires when their time comes."""

    __tablename__ = "points_ledger"
    __table_args__ = (
        UniqueConstraint("tenant_id", "source", name="uq_points_ledger_tenant_source"),
        Index("ix_points_ledger_member_at", "member_id", "at"),
        Index("ix_points_ledger_expiring", "expires_at", postgresql_where="remaining > 0"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
    member_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("members.id"))
    delta: Mapped[int] = mapped_column(Integer)
    # join, checkin, post, comment, order, referral, grant, spend, clawback, expiry
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(200))
    # What caused the line (an event, an order, an idempotency key): the same source never earns twice.
    source: Mapped[str | None] = mapped_column(String(200))
    # The order an `order` or `clawback` line belongs to, so refunds claw back what that order earned.
    order_id: Mapped[uuid.UUID | None]
    order_amount_fen: Mapped[int | None] = mapped_column(Integer)
    remaining: Mapped[int | None] = mapped_column(Integer)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    at: Mapped[datetime] = mapped_column(UtcDateTime)


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


class ImportJob(Base):
    """A CSV of members being imported, chunk by chunk; `processed_rows` says how far it got, so a
    restarted worker goes on from there. The CSV is dropped once done: it holds phone numbers."""

    __tablename__ = "import_jobs"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(10))
    csv: Mapped[bytes | None] = mapped_column(LargeBinary)
    total_rows: Mapped[int] = mapped_column(Integer)
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)
    imported: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    # A worker holds the job until then; another may take over a job whose lease ran out.
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ImportRowError(Base):
    """Why one row of an import was not imported."""

    __tablename__ = "import_errors"

    job_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("import_jobs.id"), primary_key=True)
    row: Mapped[int] = mapped_column(Integer, primary_key=True)
    field: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(String(300))


__all__ = [
    "Base",
    "Consent",
    "ImportJob",
    "ImportRowError",
    "Member",
    "MemberActivity",
    "MemberTag",
    "PointsAccount",
    "PointsEntry",
    "PointsPolicy",
    "TagRule",
    "communities",
    "referrals",
]
