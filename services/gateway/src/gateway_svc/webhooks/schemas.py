"""Partner webhooks in the API: endpoints, their secrets, the delivery log and replays."""

import uuid
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from gateway_svc.webhooks.models import DeliveryStatus
from qunyun_shared.schemas import Input, Read

DEFAULT_RATE_LIMIT = 50
MAX_OVERLAP_SECONDS = 7 * 86_400

_URL_EXAMPLE = "https://partner.example.com/qunyun/webhooks"
_TYPES_EXAMPLE = ["member.joined", "order.paid"]
_RATE_DOC = "Most deliveries a second this endpoint is sent, across all gateway replicas."


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    url: str = Field(min_length=1, max_length=2000, examples=[_URL_EXAMPLE])
    description: str = Field(default="", max_length=500, examples=["Shop CRM sync"])
    event_types: list[str] = Field(min_length=1, max_length=100, examples=[_TYPES_EXAMPLE])
    rate_limit_per_second: int = Field(default=DEFAULT_RATE_LIMIT, ge=1, le=10_000, description=_RATE_DOC)
    secret: str | None = Field(
        default=None,
        description="A `whsec_` secret of your own (24 to 64 bytes of base64 key); one is generated when omitted.",
    )


class EndpointUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    url: str | None = Field(default=None, min_length=1, max_length=2000, examples=[_URL_EXAMPLE])
    description: str | None = Field(default=None, max_length=500)
    event_types: list[str] | None = Field(default=None, min_length=1, max_length=100, examples=[_TYPES_EXAMPLE])
    rate_limit_per_second: int | None = Field(default=None, ge=1, le=10_000, description=_RATE_DOC)
    enabled: bool | None = Field(
        default=None, description="`true` enables a disabled endpoint again and clears its failure streak."
    )


class FailureNotice(BaseModel):
    """Shown once an endpoint has been failing long enough to be announced, until a delivery succeeds."""

    message: str
    failing_since: datetime
    consecutive_failures: int
    last_error: str | None
    noticed_at: datetime
    disables_at: datetime


class EndpointRead(BaseModel):
    id: uuid.UUID
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    disabled_reason: str | None
    disabled_at: datetime | None
    rate_limit_per_second: int
    created_by: str
    created_at: datetime
    updated_at: datetime
    previous_secret_expires_at: datetime | None = Field(
        description="While a rotated-out secret still signs deliveries beside the new one: until when."
    )
    failing_since: datetime | None = Field(description="Every attempt since then has failed; none while healthy.")
    consecutive_failures: int
    failure_notice: FailureNotice | None


class EndpointCreated(EndpointRead):
    secret: str = Field(description="The signing secret, `whsec_...`. Shown this once.")


class SecretRotation(Input):
    overlap_seconds: int = Field(
        default=86_400,
        ge=0,
        le=MAX_OVERLAP_SECONDS,
        description="How long the current secret keeps signing beside the new one, while you switch over.",
    )


class SecretRotated(BaseModel):
    secret: str = Field(description="The new signing secret. Shown this once.")
    previous_secret_expires_at: datetime | None


class AttemptRead(Read):
    attempted_at: datetime
    http_status: int | None
    duration_ms: int
    error: str | None


class DeliveryRead(BaseModel):
    id: str = Field(description="The message's `webhook-id`, the same on every attempt.", examples=["msg_..."])
    endpoint_id: uuid.UUID
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    erased: bool = Field(description="The member it is about was erased: its body is gone.")


class DeliveryDetail(DeliveryRead):
    payload: dict[str, Any] | None = Field(description="The body sent, none once erased.")
    attempt_log: list[AttemptRead]


class DeliveryPage(BaseModel):
    deliveries: list[DeliveryRead]
    next_cursor: str | None


class ReplayRange(Input):
    since: AwareDatetime
    until: AwareDatetime | None = Field(default=None, description="Defaults to now.")
    include_delivered: bool = Field(
        default=False, description="Send delivered messages again too, not only failed ones."
    )


class ReplayStarted(BaseModel):
    replayed: int = Field(description="Messages due again now, under their original webhook ids.")


class EventTypeRead(BaseModel):
    type: str
    version: int
    producer: str
    summary: str
