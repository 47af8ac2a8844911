"""What an event type is: a versioned, typed payload owned by one producing service."""

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, Literal, TypeVar
from uuid import UUID

from pydantic import BaseModel, ConfigDict

Producer = Literal["member-svc", "content-svc", "campaign-svc", "analytics-svc", "gateway"]


class EventPayload(BaseModel):
    """Base of every payload: immutable; unknown fields ignored so payloads can grow additively."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    subject_field: ClassVar[str] = "member_id"

    def subject(self) -> str:
        """The entity the event is about; with the tenant it forms the partition key."""
        return str(getattr(self, self.subject_field))


@dataclass(frozen=True, slots=True)
class EventSpec:
    """One entry of the catalogue."""

    type: str
    version: int
    producer: Producer
    summary: str
    model: builtins.type[EventPayload]  # `type` alone would mean the field above
    # Public events reach partners too, by webhook; internal ones stay between the services.
    public: bool = True

    @property
    def stream(self) -> str:
        """The topic family the producer publishes on (`member`, `content`, ...)."""
        return self.producer.removesuffix("-svc")


REGISTRY: dict[tuple[str, int], EventSpec] = {}
_BY_MODEL: dict[type[EventPayload], EventSpec] = {}

P = TypeVar("P", bound=type[EventPayload])


def event(type_: str, version: int, *, producer: Producer, summary: str, public: bool = True) -> Callable[[P], P]:
    """Registers a payload class as version `version` of event type `type_`; `public=False` keeps it off webhooks."""

    def register(model: P) -> P:
        key = (type_, version)
        if key in REGISTRY:
            raise ValueError(f"event {type_} v{version} is defined twice")
        spec = EventSpec(type_, version, producer, summary, model, public)
        REGISTRY[key] = spec
        _BY_MODEL[model] = spec
        return model

    return register


def spec_for(model: type[EventPayload]) -> EventSpec:
    """Returns the catalogue entry of a payload class."""
    return _BY_MODEL[model]


__all__ = ["REGISTRY", "UUID", "EventPayload", "EventSpec", "Producer", "event", "spec_for"]
