"""Each tenant's own settings for campaigns."""

from datetime import time

from sqlalchemy import String, Time
from sqlalchemy.orm import Mapped, mapped_column

from campaign_svc.db import Base


class TenantSettings(Base):
    """The tenant's time zone (check-in days, birthdays, quiet hours are local) and the quiet hours
    in which no automated marketing reaches a member (deferred to their end instead)."""

    __tablename__ = "tenant_settings"

    tenant_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
    quiet_hours_start: Mapped[time | None] = mapped_column(Time)
    quiet_hours_end: Mapped[time | None] = mapped_column(Time)
