"""Events published by the gateway: what a tenant must hear about its partner webhooks."""

from datetime import datetime
from uuid import UUID

from qunyun_shared.events.base import EventPayload, event
from qunyun_shared.events.integers import PositiveCount


@event(
    "webhook.endpoint_failing",
    1,
    producer="gateway",
    summary="Every delivery to a webhook endpoint has failed for a while: unless one succeeds by `disables_at`, "
    "the endpoint will be disabled.",
)
class WebhookEndpointFailingV1(EventPayload):
    subject_field = "endpoint_id"
    endpoint_id: UUID
    url: str
    failing_since: datetime
    consecutive_failures: PositiveCount
    last_error: str
    disables_at: datetime


@event(
    "webhook.endpoint_disabled",
    1,
    producer="gateway",
    summary="A webhook endpoint was disabled after sustained failure, announced beforehand by "
    "`webhook.endpoint_failing`; its undelivered messages can be replayed once it is enabled again.",
)
class WebhookEndpointDisabledV1(EventPayload):
    subject_field = "endpoint_id"
    endpoint_id: UUID
    url: str
    failing_since: datetime
    consecutive_failures: PositiveCount
    last_error: str
    disabled_at: datetime
