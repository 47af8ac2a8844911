"""The tenant's campaign settings: time zone and quiet hours."""

from fastapi import APIRouter

from campaign_svc.dependencies import IdempotentRoute
from campaign_svc.tenants import service as tenants
from campaign_svc.tenants.schemas import TenantSettingsBody
from qunyun_shared.dependencies import CurrentIdentity, DbSession

router = APIRouter(prefix="/campaigns/settings", tags=["settings"], route_class=IdempotentRoute)


@router.get("")
async def get_settings(session: DbSession, caller: CurrentIdentity) -> TenantSettingsBody:
    return await tenants.settings_of(session=session, tenant_id=caller.tenant_id)


@router.put("", summary="Set the time zone (check-in days, birthdays) and the quiet hours of automated marketing")
async def put_settings(body: TenantSettingsBody, session: DbSession, caller: CurrentIdentity) -> TenantSettingsBody:
    return await tenants.update_settings(session=session, tenant_id=caller.tenant_id, body=body)
