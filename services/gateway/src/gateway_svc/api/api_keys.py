"""A tenant's API keys: issued (shown once), listed and revoked by those holding `api_keys:manage`."""

import uuid
from datetime import UTC, datetime

from fastapi import APIRouter, status

from gateway_svc import access, credentials
from gateway_svc.dependencies import Caller
from gateway_svc.idempotency import TenantRoute
from gateway_svc.schemas import ApiKeyCreate, ApiKeyIssued, ApiKeyRead
from qunyun_shared.dependencies import DbSession

router = APIRouter(prefix="/api/v1/api-keys", tags=["api keys"], route_class=TenantRoute)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ApiKeyIssued)
async def issue_api_key(body: ApiKeyCreate, caller: Caller, session: DbSession) -> ApiKeyIssued:
    access.require(caller, "api_keys:manage")
    return await credentials.issue_api_key(
        session=session, tenant_id=uuid.UUID(caller.tenant_id), key_in=body, issuer=caller
    )


@router.get("", response_model=list[ApiKeyRead])
async def list_api_keys(caller: Caller, session: DbSession) -> list[ApiKeyRead]:
    access.require(caller, "api_keys:manage")
    keys = await credentials.list_api_keys(session=session, tenant_id=uuid.UUID(caller.tenant_id))
    return [credentials.read_api_key(key) for key in keys]


@router.delete("/{key_id}", response_model=ApiKeyRead)
async def revoke_api_key(key_id: str, caller: Caller, session: DbSession) -> ApiKeyRead:
    """Revoked at once in the database; each gateway replica stops honouring it within the credential cache."""
    access.require(caller, "api_keys:manage")
    key = await credentials.revoke_api_key(
        session=session, tenant_id=uuid.UUID(caller.tenant_id), key_id=key_id, now=datetime.now(UTC)
    )
    return credentials.read_api_key(key)
