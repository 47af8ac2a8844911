"""Rate-limit plans in the admin API."""

import uuid
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RateLimitPlan(BaseModel):
    per_credential: int = Field(
        ge=1,
        le=1_000_000,
        examples=[1000],
        description="Requests one credential (an API key, or an operator across sessions) may make per window.",
    )
    per_tenant: int = Field(
        ge=1, le=1_000_000, examples=[3000], description="Requests all of the tenant's credentials together may make."
    )
    window_seconds: int = Field(
        ge=1,
        le=3600,
        examples=[10],
        description="The window: a full quota may be spent at once, and it refills evenly over the window.",
    )


class RateLimitPlanUpdate(RateLimitPlan):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _credential_within_tenant(self) -> Self:
        if self.per_credential > self.per_tenant:
            raise ValueError("per_credential cannot exceed per_tenant: the tenant's quota covers its credentials")
        return self


class RateLimitPlanRead(RateLimitPlan):
    tenant_id: uuid.UUID
    custom: bool = Field(description="False while the tenant is on the platform's default plan.")
