"""gateway API models: tenants and API keys."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from gateway_svc.access import Role
from gateway_svc.accounts.schemas import OperatorCreate


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100, examples=["Acme Baby Care"])
    owner: OperatorCreate | None = Field(
        default=None, description="The tenant's first operator, who signs in at /api/v1/auth/login."
    )


class TenantCreated(BaseModel):
    tenant_id: uuid.UUID
    name: str
    api_key: str = Field(description="The tenant's first (owner) API key. Shown this once; only its hash is kept.")


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100, examples=["Tmall shop sync"])
    roles: list[Role] = Field(min_length=1, examples=[["integration"]])
    scopes: list[str] | None = Field(
        default=None,
        description="Narrows the key to these permissions (within what its roles allow); omitted for all of them.",
        examples=[["members:write", "orders:write"]],
    )


class ApiKeyRead(BaseModel):
    id: str
    name: str
    roles: list[str]
    scopes: list[str] | None
    permissions: list[str] = Field(description="What the key may do: its roles' permissions, narrowed by its scopes.")
    created_by: str | None
    created_at: datetime
    revoked_at: datetime | None


class ApiKeyIssued(ApiKeyRead):
    api_key: str = Field(description="The key itself, `qk_<id>_<secret>`. Shown this once; only its hash is kept.")
