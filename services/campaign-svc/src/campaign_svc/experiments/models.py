"""A/B tests on content and campaigns: their variants, and which members saw and converted on which."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from campaign_svc.db import Base
from qunyun_shared.db import UtcDateTime


class Experiment(Base):
    """An A/B test of one piece of content or one campaign. With no `subject_id`, any order of an exposed
    member converts. `alpha` is fixed at creation so that results cannot be re-read at a friendlier level.
    Status: running -> stopped; a stopped experiment's results no longer change."""

    __tablename__ = "experiments"
    # Each order looks up its tenant's running experiments.
    __table_args__ = (Index("ix_experiments_tenant_status", "tenant_id", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    subject_kind: Mapped[str] = mapped_column(String(10))  # content | campaign
    subject_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(10))
    alpha: Mapped[float] = mapped_column(Float, default=0.05, server_default="0.05")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ExperimentVariant(Base):
    """One arm of an experiment. `position` keeps the declared order, which assignment depends on and
    whose first variant is the control; `payload` says what the arm shows (a content item, a coupon)."""

    __tablename__ = "experiment_variants"

    experiment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("experiments.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    weight: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class ExperimentExposure(Base):
    """A member's first exposure to an experiment: the key makes later and concurrent ones no-ops."""

    __tablename__ = "experiment_exposures"

    experiment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("experiments.id"), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    variant: Mapped[str] = mapped_column(String(32))
    exposed_at: Mapped[datetime] = mapped_column(UtcDateTime)


class ExperimentConversion(Base):
    """An exposed member's first conversion; `variant` is copied from the exposure so that results are one
    GROUP BY. `order_id` names the order that converted, when one did."""

    __tablename__ = "experiment_conversions"

    experiment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("experiments.id"), primary_key=True)
    member_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, index=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    variant: Mapped[str] = mapped_column(String(32))
    converted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    value_fen: Mapped[int] = mapped_column(BigInteger)
    order_id: Mapped[uuid.UUID | None]
