"""A tenant's campaign settings: its time zone and its quiet hours."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.models import TenantSettings
from campaign_svc.schemas.tenants import TenantSettingsBody
from qunyun_shared.db import upsert


@dataclass(frozen=True)
class Clock:
    """Local time as a tenant lives it."""

    zone: ZoneInfo
    quiet_start: time | None
    quiet_end: time | None

    def local_day(self, at: datetime) -> date:
        return at.astimezone(self.zone).date()

    def quiet_until(self, at: datetime) -> datetime | None:
        """When the quiet hours `at` falls in end, or None if `at` is not in quiet hours."""
        if self.quiet_start is None or self.quiet_end is None:
            return None
        local = at.astimezone(self.zone)
        now = local.time()
        wraps = self.quiet_start > self.quiet_end  # 22:00-08:00 spans midnight
        inside = (
            (now >= self.quiet_start or now < self.quiet_end) if wraps else self.quiet_start <= now < self.quiet_end
        )
        if not inside:
            return None
        end_day = local.date() + timedelta(days=1) if wraps and now >= self.quiet_start else local.date()
        return datetime.combine(end_day, self.quiet_end, tzinfo=self.zone)


async def settings_of(session: AsyncSession, tenant_id: str) -> TenantSettingsBody:
    stored = await session.get(TenantSettings, tenant_id)
    return TenantSettingsBody.model_validate(stored) if stored is not None else TenantSettingsBody()


async def clock_of(session: AsyncSession, tenant_id: str) -> Clock:
    settings = await settings_of(session, tenant_id)
    return Clock(ZoneInfo(settings.timezone), settings.quiet_hours_start, settings.quiet_hours_end)


async def update_settings(session: AsyncSession, tenant_id: str, body: TenantSettingsBody) -> TenantSettingsBody:
    table = TenantSettings.__table__
    values = body.model_dump()
    await session.execute(
        upsert(session, table)
        .values(tenant_id=tenant_id, **values)
        .on_conflict_do_update(index_elements=[table.c.tenant_id], set_=values)
    )
    return body
