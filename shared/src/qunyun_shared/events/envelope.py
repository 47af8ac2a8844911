"""The CloudEvents 1.0 envelope every Qunyun event travels in."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from qunyun_shared import correlation
from qunyun_shared.events.catalogue import EventPayload, spec_for

SPEC_VERSION = "1.0"
JSON = "application/json"


@dataclass(frozen=True, slots=True)
class Envelope:
    """One event: CloudEvents context attributes, Qunyun's extensions and the payload.

    Extensions (CloudEvents names are lower-case alphanumerics): `tenantid`, `partitionkey`
    (tenant + member, so one member's events stay in order), `dataversion` (payload schema
    version) and `correlationid` (the work that caused it).
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
    specversion: str = SPEC_VERSION
    datacontenttype: str = JSON


def new_event(*, source: str, tenant_id: str, payload: EventPayload) -> Envelope:
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
    )
