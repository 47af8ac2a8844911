"""Onboarding a tenant: the tenant, its owner's API key and, if given, its owner's operator account."""

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from gateway_svc.accounts import service as accounts
from gateway_svc.accounts.schemas import ApiKeyCreate
from gateway_svc.exceptions import TenantNameTaken
from gateway_svc.tenants.models import Tenant
from gateway_svc.tenants.schemas import TenantCreate, TenantCreated


async def create_tenant(*, session: AsyncSession, tenant_in: TenantCreate) -> TenantCreated:
    """Creates a tenant with its first API key for the owner, and its owner's account if one is given."""
    tenant = Tenant(name=tenant_in.name)
    session.add(tenant)
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError:
        raise TenantNameTaken(f"A tenant named {tenant_in.name!r} exists already.") from None
    if tenant_in.owner is not None:
        await accounts.create_operator(session=session, tenant_id=tenant.id, operator_in=tenant_in.owner, grantor=None)
    issued = await accounts.issue_api_key(
        session=session, tenant_id=tenant.id, key_in=ApiKeyCreate(name="owner", roles=["owner"]), issuer=None
    )
    return TenantCreated(tenant_id=tenant.id, name=tenant.name, api_key=issued.api_key)
