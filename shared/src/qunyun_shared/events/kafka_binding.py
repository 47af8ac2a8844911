"""CloudEvents Kafka protocol binding, binary content mode: attributes in `ce_` headers, payload as value."""

from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from qunyun_shared.events.catalogue import CATALOGUE, latest_versions
from qunyun_shared.events.envelope import JSON, SPEC_VERSION, Envelope

Headers = list[tuple[str, bytes]]

# The extension marking an event that announces imported history (Envelope.imported), present only then.
IMPORTED_HEADER, IMPORTED_VALUE = "ce_imported", "true"

_REQUIRED = ("ce_specversion", "ce_id", "ce_source", "ce_type", "ce_tenantid", "ce_dataversion")


@dataclass(frozen=True, slots=True)
class KafkaRecord:
    """What goes on the wire: key, value and headers of one Kafka message."""

    key: bytes
    value: bytes
    headers: Headers


class MalformedEvent(Exception):
    """The message is not a valid Qunyun CloudEvent; retrying will never help."""


class UnknownEvent(Exception):
    """A well-formed event this build does not know (new type or newer version): skipped, not failed."""

    def __init__(self, type_: str, version: int, newest_known: int | None) -> None:
        known = f" (newest known v{newest_known})" if newest_known else ""
        super().__init__(f"{type_} v{version}{known}")
        self.type = type_
        self.version = version


def to_kafka(envelope: Envelope) -> KafkaRecord:
    """Encodes an envelope in binary content mode; the partition key becomes the message key."""
    key, value, headers = binary_mode(envelope)
    return KafkaRecord(key=key, value=value, headers=[(name, text.encode()) for name, text in headers])


def binary_mode(envelope: Envelope) -> tuple[bytes, bytes, list[tuple[str, str]]]:
    """The message key, value and `ce_` headers (as text; UTF-8 on the wire) of an envelope in binary
    content mode: what the outbox stores of it."""
    headers = [
        ("ce_specversion", envelope.specversion),
        ("ce_id", envelope.id),
        ("ce_source", envelope.source),
        ("ce_type", envelope.type),
        ("ce_time", envelope.time.isoformat()),
        ("ce_subject", envelope.subject),
        ("content-type", envelope.datacontenttype),
        ("ce_tenantid", envelope.tenantid),
        ("ce_partitionkey", envelope.partitionkey),
        ("ce_dataversion", str(envelope.dataversion)),
    ]
    if envelope.correlationid:
        headers.append(("ce_correlationid", envelope.correlationid))
    if envelope.imported:
        headers.append((IMPORTED_HEADER, IMPORTED_VALUE))
    return envelope.partitionkey.encode(), envelope.data.model_dump_json().encode(), headers


def from_kafka(value: bytes | None, headers: Headers) -> Envelope:
    """Decodes a binary-mode message; raises MalformedEvent or UnknownEvent."""
    attrs = {name: raw.decode("utf-8", "replace") for name, raw in headers}
    missing = [name for name in _REQUIRED if name not in attrs]
    if missing:
        raise MalformedEvent(f"missing CloudEvents headers: {', '.join(missing)}")
    if attrs["ce_specversion"] != SPEC_VERSION:
        raise MalformedEvent(f"unsupported specversion {attrs['ce_specversion']!r}")
    type_, version = attrs["ce_type"], _version(attrs["ce_dataversion"])
    spec = CATALOGUE.get((type_, version))
    if spec is None:
        raise UnknownEvent(type_, version, latest_versions().get(type_))
    try:
        data = spec.model.model_validate_json(value or b"")
        time = datetime.fromisoformat(attrs.get("ce_time", ""))
    except (ValidationError, ValueError) as exc:
        raise MalformedEvent(f"invalid {type_} v{version}: {exc}") from exc
    return Envelope(
        id=attrs["ce_id"],
        source=attrs["ce_source"],
        type=type_,
        time=time,
        subject=attrs.get("ce_subject", ""),
        tenantid=attrs["ce_tenantid"],
        partitionkey=attrs.get("ce_partitionkey", ""),
        dataversion=version,
        data=data,
        correlationid=attrs.get("ce_correlationid", ""),
        imported=attrs.get(IMPORTED_HEADER) == IMPORTED_VALUE,
        datacontenttype=attrs.get("content-type", JSON),
    )


def _version(raw: str) -> int:
    try:
        return int(raw)
    except ValueError:
        raise MalformedEvent(f"dataversion {raw!r} is not an integer") from None
