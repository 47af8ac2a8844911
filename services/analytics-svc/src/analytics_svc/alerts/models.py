"""Alert rules on KPIs and the alerts they raised."""

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from analytics_svc.db import Base
from qunyun_shared.db import UtcDateTime


class AlertRule(Base):
    __tablename__ = "alert_rules"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[str] = mapped_column(String(64), index=True)
    kpi: Mapped[str] = mapped_column(String(40))
    condition: Mapped[str] = mapped_column(String(10))
    threshold: Mapped[float] = mapped_column(Float)
    level: Mapped[str] = mapped_column(String(8))
    community_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # Whether the last evaluation found the threshold breached: an alert is raised on entering a breach.
    breached: Mapped[bool] = mapped_column(default=False)
    last_value: Mapped[float | None] = mapped_column(Float)
    evaluated_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class Alert(Base):
    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_tenant_id_raised_at", "tenant_id", "raised_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    rule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"), index=True)
    tenant_id: Mapped[str] = mapped_column(String(64))
    kpi: Mapped[str] = mapped_column(String(40))
    level: Mapped[str] = mapped_column(String(8))
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    community_id: Mapped[uuid.UUID | None]
    raised_at: Mapped[datetime] = mapped_column(UtcDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
