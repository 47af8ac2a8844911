"""A tenant's campaign settings: its time zone and its quiet hours."""

from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.tenants.clock import Clock
from campaign_svc.tenants.models import TenantSettings
from campaign_svc.tenants.schemas import TenantSettingsBody
from qunyun_shared.db import upsert


async def settings_of(*, session: AsyncSession, tenant_id: str) -> TenantSettingsBody:
    """The tenant's settings, the defaults until it sets its own."""
    stored = await session.get(TenantSettings, tenant_id)
    return TenantSettingsBody.model_validate(stored) if stored is not None else TenantSettingsBody()


async def clock_of(*, session: AsyncSession, tenant_id: str) -> Clock:
    """The tenant's clock: its time zone and quiet hours."""
    settings = await settings_of(session=session, tenant_id=tenant_id)
    return Clock(ZoneInfo(settings.timezone), settings.quiet_hours_start, settings.quiet_hours_end)


async def update_settings(*, session: AsyncSession, tenant_id: str, body: TenantSettingsBody) -> TenantSettingsBody:
    """Replaces the tenant's settings."""
    table = TenantSettings.__table__
    values = body.model_dump()
    await session.execute(
        upsert(session, table)
        .values(tenant_id=tenant_id, **values)
        .on_conflict_do_update(index_elements=[table.c.tenant_id], set_=values)
    )
    return body
