"""Points: each tenant's policy, members' accounts and the ledger."""

import uuid
from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint, func
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column

from member_svc.db import Base
from qunyun_shared.db import UtcDateTime


class PointsPolicy(Base):
    """A tenant's earn rules, expiry and levels; tenants without one use the defaults in `points.policy`."""

    __tablename__ = "points_policies"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # {action: {"points": n, "daily_limit": n | null}} for join, checkin, post, comment, per_yuan, referral.
    earn_rules: Mapped[dict[str, dict[str, int | None]]] = mapped_column(JSON)
    expiry_days: Mapped[int | None]
    # Whole days are counted in the tenant's time zone (daily limits, check-in days).
    timezone: Mapped[str] = mapped_column(String(64))
    # [{"level": n, "name": str, "threshold": lifetime points, "privileges": [str]}], ascending.
    levels: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    # Whether imported history (events marked `imported`) earns points as live events do.
    history_earns_points: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
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
