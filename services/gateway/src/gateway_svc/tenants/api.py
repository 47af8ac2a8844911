"""Platform administration: onboarding tenants."""

from fastapi import APIRouter, status

from gateway_svc.dependencies import PlatformAdmin, PlatformRoute
from gateway_svc.tenants import service as tenants
from gateway_svc.tenants.schemas import TenantCreate, TenantCreated
from qunyun_shared.dependencies import DbSession

router = APIRouter(prefix="/admin", tags=["admin"], dependencies=[PlatformAdmin], route_class=PlatformRoute)


@router.post("/tenants", status_code=status.HTTP_201_CREATED, response_model=TenantCreated)
async def create_tenant(body: TenantCreate, session: DbSession) -> TenantCreated:
    return await tenants.create_tenant(session=session, tenant_in=body)
