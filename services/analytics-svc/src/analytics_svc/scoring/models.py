"""Per tenant: the model the last full recompute fitted, which scoring reuses until the next."""

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
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
