"""What can go wrong with partner webhooks, in the domain's words."""

from qunyun_shared.problems import Conflict, InvalidInput, NotFound


class EndpointNotFound(NotFound):
    slug = "webhook-endpoint-not-found"


class DeliveryNotFound(NotFound):
    slug = "webhook-delivery-not-found"


class UnknownEventType(InvalidInput):
    slug = "unknown-event-type"


class TooManyEndpoints(Conflict):
    slug = "too-many-webhook-endpoints"


class EndpointDisabled(Conflict):
    slug = "webhook-endpoint-disabled"


class DeliveryErased(Conflict):
    slug = "webhook-delivery-erased"


class InvalidReplayRange(InvalidInput):
    slug = "invalid-replay-range"
