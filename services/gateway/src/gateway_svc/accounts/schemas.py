"""API models of operator accounts, sign-in and API keys."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from gateway_svc.access import Role

# NIST SP 800-63B: length, not composition rules, is what makes a password strong; the upper bound
# keeps a hash from being a denial of service.
Password = Field(min_length=12, max_length=256)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OperatorCreate(_Strict):
    email: EmailStr = Field(examples=["lin.wei@acme.example"])
    display_name: str = Field(min_length=1, max_length=100, examples=["Lin Wei"])
    password: str = Password
    roles: list[Role] = Field(min_length=1, examples=[["operator"]])


class OperatorUpdate(_Strict):
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    roles: list[Role] | None = Field(default=None, min_length=1)
    disabled: bool | None = Field(default=None, description="Disabling signs the operator out everywhere.")


class OperatorRead(BaseModel):
    id: uuid.UUID
    email: str
    display_name: str
    roles: list[str]
    disabled: bool
    created_at: datetime


class SignIn(_Strict):
    email: EmailStr
    password: str = Field(min_length=1, max_length=256)


class RefreshRequest(_Strict):
    refresh_token: str = Field(min_length=1, max_length=200)


class PasswordChange(_Strict):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Password


class TokenPair(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds the access token stays valid.")
    refresh_token: str = Field(description="Use once at /api/v1/auth/refresh for the next pair.")


class WhoAmI(BaseModel):
    tenant_id: uuid.UUID
    principal: str
    roles: list[str]
    permissions: list[str]


class ApiKeyCreate(_Strict):
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
