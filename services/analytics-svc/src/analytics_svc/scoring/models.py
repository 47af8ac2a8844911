"""Per tenant: the model the last full recompute fitted, which scoring reuses until the next; and the refits
asked for through the API, run in the background."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from analytics_svc.db import Base
from qunyun_shared.db import UtcDateTime


class TenantModel(Base):
    """What the last full recompute fitted, which scoring each event reuses until the next."""

    __tablename__ = "tenant_models"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    breakpoints: Mapped[dict[str, Any]] = mapped_column(JSON)
    # BG/NBD and Gamma-Gamma parameters; none while the tenant has too few repeat buyers to fit them.
    purchases: Mapped[dict[str, float] | None] = mapped_column(JSON)
    spend: Mapped[dict[str, float] | None] = mapped_column(JSON)
    members: Mapped[int] = mapped_column(Integer)
    fitted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The per-day purchase summary the models were fitted on, in totals (scoring.fitting.Totals), and where
    # each attempted fit stopped (log-likelihood, iterations, converged); none for fits before they were kept.
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    diagnostics: Mapped[dict[str, Any] | None] = mapped_column(JSON)


UNFINISHED = ("queued", "running")
_UNFINISHED_SQL = text("status IN ('queued', 'running')")


class RefitJob(Base):
    """A refit of a tenant's model asked for through the API, run in the background by whichever replica
    claims it: `lease_until` says until when its worker holds it, after which another (or the same process,
    restarted) takes it over. At most one job of a tenant is queued or running at a time."""

    __tablename__ = "refit_jobs"
    __table_args__ = (
        Index(
            "ix_refit_jobs_tenant_id_unfinished",
            "tenant_id",
            unique=True,
            sqlite_where=_UNFINISHED_SQL,
            postgresql_where=_UNFINISHED_SQL,
        ),
        Index("ix_refit_jobs_status_created_at", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(9))  # queued, running, succeeded, failed
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Claims so far: a worker's writes count only while the job is still its claim.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The model the refit fitted, as GET /analytics/models answers it; or why it failed.
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(500))
