"""Partner webhooks: the endpoints tenants subscribe, the messages owed to them and every attempt made."""

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Mapped, mapped_column

from gateway_svc.db import Base
from qunyun_shared.db import UtcDateTime

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
_SEQUENCE = BigInteger().with_variant(sqlite.INTEGER(), "sqlite")


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # due now or at its next retry
    DELIVERED = "delivered"  # a partner answered 2xx
    FAILED = "failed"  # retries ran out, or its endpoint was disabled first; it can be replayed
    CANCELLED = "cancelled"  # the member it is about was erased before it went out


class WebhookEndpoint(Base):
    """A partner's URL, the event types it subscribed to and the secrets its deliveries are signed with."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    url: Mapped[str] = mapped_column(String(2000))
    description: Mapped[str] = mapped_column(String(500), default="")
    event_types: Mapped[list[str]] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Sealed (webhooks/sealed_secrets.py): never stored in clear.
    secret: Mapped[str] = mapped_column(String(200))
    # During a rotation the previous secret signs too, until it expires, so a partner can switch over.
    previous_secret: Mapped[str | None] = mapped_column(String(200))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    rate_limit_per_second: Mapped[int] = mapped_column(Integer)
    # The rate limit's state, shared by every gateway replica (the generic cell rate algorithm): the
    # moment the sends granted so far would have been spread out to.
    sends_scheduled_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    # The failure streak: every attempt since `failing_since` has failed. The notice is the warning
    # announced before the endpoint is disabled; a success clears all of it.
    failing_since: Mapped[datetime | None] = mapped_column(UtcDateTime)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure: Mapped[str | None] = mapped_column(String(300))
    failure_notice_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    disables_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class WebhookDelivery(Base):
    """One message owed to one endpoint: one event, its exact body and where sending it stands.

    Its webhook id (`msg_` + the id) stays the same across retries and replays, so partners can drop
    the duplicates that at-least-once delivery brings. It is due while `next_attempt_at` is set: a
    dispatcher that takes it pushes that time past a lease, so that a crash leaves it due again.
    """

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_deliveries_endpoint_created", "endpoint_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column()
    endpoint_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(100))
    # The member the event is about, so their erasure can find it; cleared with the body.
    member_id: Mapped[uuid.UUID | None] = mapped_column(index=True)
    # Text, not JSON: the signature covers these exact bytes (UTF-8), which a JSON column may reformat.
    body: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UtcDateTime, index=True)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    erased_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    @property
    def webhook_id(self) -> str:
        return webhook_id_of(self.id)


class WebhookAttempt(Base):
    """One try at sending a delivery: when, what the partner answered (or what went wrong), how long it took."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(_SEQUENCE, primary_key=True, autoincrement=True)
    delivery_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(UtcDateTime)
    http_status: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))


def webhook_id_of(delivery_id: uuid.UUID) -> str:
    """The Standard Webhooks `webhook-id` of a delivery."""
    return f"msg_{delivery_id.hex}"
