"""Tenants and their credentials."""

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, func
from sqlalchemy.orm import Mapped, mapped_column

from gateway_svc.models.base import Base
from qunyun_shared.db import UtcDateTime


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, server_default=func.now())


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
