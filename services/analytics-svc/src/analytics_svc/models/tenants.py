"""Per tenant and per community: the state periodic evaluations keep, compared with at the next one."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from analytics_svc.models.base import Base
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


class CommunityState(Base):
    """A community's lifecycle stage and health as last evaluated (stage changes are announced)."""

    __tablename__ = "community_states"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    community_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    stage: Mapped[str | None] = mapped_column(String(8))
    health: Mapped[float | None] = mapped_column(Float)
    evaluated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
