"""Domain events: the CloudEvents envelope, the catalogue of typed payloads and the Kafka binding."""

from qunyun_shared.events.catalogue import CATALOGUE, EventPayload, EventSpec, spec_for
from qunyun_shared.events.envelope import Envelope, new_event, payloads_of

__all__ = ["CATALOGUE", "Envelope", "EventPayload", "EventSpec", "new_event", "payloads_of", "spec_for"]
