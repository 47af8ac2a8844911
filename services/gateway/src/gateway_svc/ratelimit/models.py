"""Rate-limit plans that the platform set for particular tenants."""

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, func
from sqlalchemy.orm import Mapped, mapped_column

from gateway_svc.db import Base
from qunyun_shared.db import UtcDateTime


class TenantRateLimit(Base):
    """A tenant's own plan; a tenant without one is on the platform's default plan (Settings)."""

    __tablename__ = "tenant_rate_limits"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    per_credential: Mapped[int]
    per_tenant: Mapped[int]
    window_seconds: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now(), onupdate=func.now())
