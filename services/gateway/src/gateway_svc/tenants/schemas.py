"""API models of onboarding tenants."""

import uuid

from pydantic import BaseModel, ConfigDict, Field

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
