"""The envelope, the Kafka binding and the catalogue."""

import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary_event

from qunyun_shared import correlation
from qunyun_shared.events import CATALOGUE, new_event
from qunyun_shared.events.kafka_binding import MalformedEvent, UnknownEvent, from_kafka, to_kafka
from qunyun_shared.events.member import MemberJoinedV1
from qunyun_shared.events.reference import render

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[3]


def joined() -> MemberJoinedV1:
    return MemberJoinedV1(member_id=uuid.uuid4(), community_id=uuid.uuid4(), channel="qr", joined_at=datetime.now(UTC))


def test_an_event_survives_the_kafka_binding_unchanged() -> None:
    correlation.bind("corr-1")
    envelope = new_event(source="member-svc", tenant_id="tenant-1", payload=joined())
    record = to_kafka(envelope)
    assert from_kafka(record.value, record.headers) == envelope
    assert envelope.correlationid == "corr-1"


@pytest.mark.parametrize("imported", [False, True])
def test_the_imported_marker_survives_the_kafka_binding_and_is_absent_on_live_events(imported: bool) -> None:
    envelope = new_event(source="member-svc", tenant_id="tenant-1", payload=joined(), imported=imported)
    record = to_kafka(envelope)
    assert from_kafka(record.value, record.headers).imported is imported
    assert (("ce_imported", b"true") in record.headers) is imported


def test_the_partition_key_is_tenant_and_member() -> None:
    payload = joined()
    record = to_kafka(new_event(source="member-svc", tenant_id="tenant-1", payload=payload))
    assert record.key == f"tenant-1:{payload.member_id}".encode()


def test_the_independent_cloudevents_sdk_reads_our_messages() -> None:
    payload = joined()
    record = to_kafka(new_event(source="member-svc", tenant_id="tenant-1", payload=payload))
    event = from_binary_event(KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value))
    assert event.get_specversion() == "1.0"
    assert (event.get_type(), event.get_source(), event.get_subject()) == (
        "member.joined",
        "member-svc",
        str(payload.member_id),
    )
    assert event.get_extension("tenantid") == "tenant-1"
    assert event.get_extension("partitionkey") == record.key.decode()
    assert event.get_data()["member_id"] == str(payload.member_id)  # type: ignore[index]


@pytest.mark.parametrize(
    ("value", "drop", "override"),
    [
        (b"{not json", None, {}),
        (b'{"member_id": "x"}', None, {}),
        (None, "ce_id", {}),
        (None, None, {"ce_specversion": b"0.3"}),
        (None, None, {"ce_dataversion": b"one"}),
    ],
)
def test_malformed_messages_are_recognised(value: bytes | None, drop: str | None, override: dict[str, bytes]) -> None:
    record = to_kafka(new_event(source="member-svc", tenant_id="t", payload=joined()))
    headers = [(name, override.get(name, raw)) for name, raw in record.headers if name != drop]
    with pytest.raises(MalformedEvent):
        from_kafka(value if value is not None else record.value, headers)


@pytest.mark.parametrize(("type_", "version"), [("member.teleported", b"1"), ("member.joined", b"2")])
def test_unknown_types_and_newer_versions_are_not_malformed(type_: str, version: bytes) -> None:
    record = to_kafka(new_event(source="member-svc", tenant_id="t", payload=joined()))
    override = {"ce_type": type_.encode(), "ce_dataversion": version}
    with pytest.raises(UnknownEvent):
        from_kafka(record.value, [(name, override.get(name, raw)) for name, raw in record.headers])


def test_payloads_ignore_fields_added_by_newer_producers() -> None:
    record = to_kafka(new_event(source="member-svc", tenant_id="t", payload=joined()))
    grown = record.value[:-1] + b',"favourite_colour":"red"}'
    assert isinstance(from_kafka(grown, record.headers).data, MemberJoinedV1)


def test_the_catalogue_has_every_event_of_the_domain() -> None:
    domain = (REPO.parent / "shared" / "domain.md").read_text()
    bus_section = domain.split("## Domain events", 1)[1]
    named = set(re.findall(r"`([a-z_]+\.[a-z_]+)`", bus_section))
    # Beyond the domain's list: the communities member-svc owns, which the other services must know of
    # to validate what refers to them (a schedule into a community, an order in one); the points and
    # tags campaigns grant, which member-svc applies; the automation's notice to the merchant; the
    # gateway's warning and notice about a partner's failing webhook endpoint; the invitations members
    # send, which referral analytics counts (invites sent per inviter, the K-factor's i).
    platform_additions = {
        "community.opened",
        "community.archived",
        "member.birthday_set",
        "member.invited",
        "reward.granted",
        "merchant.notified",
        "webhook.endpoint_failing",
        "webhook.endpoint_disabled",
    }
    assert {type_ for type_, _ in CATALOGUE} == named | platform_additions


def test_the_event_reference_doc_is_current() -> None:
    assert (REPO / "docs" / "events.md").read_text() == render(), "run `make docs`"
