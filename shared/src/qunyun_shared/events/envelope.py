"""The CloudEvents 1.0 envelope every Qunyun event travels in."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TypeVar

from qunyun_shared import correlation
from qunyun_shared.events.catalogue import EventPayload, spec_for

SPEC_VERSION = "1.0"
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Envelope:
    """One event: CloudEvents context attributes, Qunyun's extensions and the payload.

    Extensions (CloudEvents names are lower-case alphanumerics): `tenantid`, `partitionkey`
    (tenant + member, so one member's events stay in order), `dataversion` (payload schema
    version), `correlationid` (the work that caused it) and `imported` (the event announces history a
    merchant brought in, which happened before it reached Qunyun: projections take it like any other, but
    nothing reacts to it as news — no welcome pack, coupon, points unless the tenant says so, or webhook).
    """

    id: str
    source: str
    type: str
    time: datetime
    subject: str
    tenantid: str
    partitionkey: str
    dataversion: int
    data: EventPayload
    correlationid: str = ""
    imported: bool = False
    specversion: str = SPEC_VERSION
    datacontenttype: str = JSON


def new_event(*, source: str, tenant_id: str, payload: EventPayload, imported: bool = False) -> Envelope:
    """Wraps a payload from the catalogue in a fresh envelope for the current correlation."""
    spec = spec_for(type(payload))
    subject = payload.subject()
    return Envelope(
        id=str(uuid.uuid4()),
        source=source,
        type=spec.type,
        time=datetime.now(UTC),
        subject=subject,
        tenantid=tenant_id,
        partitionkey=f"{tenant_id}:{subject}",
        dataversion=spec.version,
        data=payload,
        correlationid=correlation.current(),
        imported=imported,
    )


P = TypeVar("P", bound=EventPayload)


def payloads_of(events: Sequence[Envelope], model: type[P]) -> list[tuple[str, P]]:
    """The (tenant, payload) pairs of a run of events that a handler registered for `model` receives."""
    pairs = []
    for envelope in events:
        if not isinstance(envelope.data, model):
            raise TypeError(f"{envelope.type} v{envelope.dataversion} delivered to a {model.__name__} handler")
        pairs.append((envelope.tenantid, envelope.data))
    return pairs
