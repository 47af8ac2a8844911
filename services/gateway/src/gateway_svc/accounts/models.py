"""Operator accounts, the refresh tokens of their sessions, and API keys."""

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from gateway_svc.db import Base
from qunyun_shared.db import UtcDateTime


class Operator(Base):
    """A person who signs in to run a tenant's communities; the email is unique across the platform."""

    __tablename__ = "operators"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Access tokens issued before this instant stop working (password change, role change, disabling).
    tokens_valid_after: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


class RefreshToken(Base):
    """One link of a session's chain: each refresh uses up its token and issues the next in the family.

    Presenting a used token again means it was stolen (or replayed): the whole family is revoked.
    """

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    family_id: Mapped[str] = mapped_column(String(24), index=True)
    operator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("operators.id"), index=True)
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    issued_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class ApiKey(Base):
    """A merchant credential; only a hash of its secret is kept, the secret is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    secret_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    roles: Mapped[list[str]] = mapped_column(JSON)
    # Permissions the key is narrowed to, within what its roles allow; None for all its roles allow.
    scopes: Mapped[list[str] | None] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
