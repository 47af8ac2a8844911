"""gateway API models."""

import uuid

from pydantic import BaseModel, ConfigDict, Field


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    name: str = Field(min_length=1, max_length=100, examples=["Acme Baby Care"])


class TenantCreated(BaseModel):
    tenant_id: uuid.UUID
    name: str
    api_key: str = Field(description="The tenant's first (owner) API key. Shown this once; only its hash is kept.")
