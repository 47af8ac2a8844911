"""Payloads hold only whole numbers their consumers' columns can: a number beyond them is refused when the
payload is built (at the producer), so such an event is never published, and refused when read."""

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from qunyun_shared.events import CATALOGUE, new_event
from qunyun_shared.events.campaign import CheckinRecordedV1, OrderPlacedV1, RewardGrantedV1
from qunyun_shared.events.integers import INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, Count, Fen, Int32, Int64
from qunyun_shared.events.kafka_binding import MalformedEvent, from_kafka, to_kafka
from qunyun_shared.events.member import MemberLevelChangedV1, MemberPointsChangedV1

pytestmark = pytest.mark.unit

NOW = datetime.now(UTC)


def integer_fields(schema: dict[str, Any], node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every integer in a JSON schema, by its path, following references, unions and lists."""
    if isinstance(node, dict):
        if "$ref" in node:
            yield from integer_fields(schema, schema["$defs"][node["$ref"].rsplit("/", 1)[1]], path)
        if node.get("type") == "integer":
            yield path, node
        for name, field in node.get("properties", {}).items():
            yield from integer_fields(schema, field, f"{path}.{name}")
        for option in node.get("anyOf", []):
            yield from integer_fields(schema, option, path)
        if "items" in node:
            yield from integer_fields(schema, node["items"], f"{path}[]")
        if isinstance(node.get("additionalProperties"), dict):
            yield from integer_fields(schema, node["additionalProperties"], f"{path}{{}}")


@pytest.mark.parametrize("spec", CATALOGUE.values(), ids=lambda spec: f"{spec.type}.v{spec.version}")
def test_every_integer_of_every_payload_is_bounded_by_a_column(spec: Any) -> None:
    schema = spec.model.model_json_schema()
    for path, field in integer_fields(schema, schema, spec.type):
        assert field.get("minimum", INT64_MIN - 1) >= INT64_MIN, f"{path} has no lower bound a column holds"
        assert field.get("maximum", INT64_MAX + 1) <= INT64_MAX, f"{path} has no upper bound a column holds"


def order(amount_fen: int) -> OrderPlacedV1:
    return OrderPlacedV1(order_id=uuid.uuid4(), member_id=uuid.uuid4(), amount_fen=amount_fen, placed_at=NOW)


def test_money_up_to_64_bits_is_carried_and_beyond_is_refused_at_the_producer() -> None:
    assert order(INT64_MAX).amount_fen == INT64_MAX
    for beyond in (INT64_MAX + 1, 2**80, -1):
        with pytest.raises(ValidationError, match="amount_fen"):
            order(beyond)


@pytest.mark.parametrize(
    "build",
    [
        lambda: MemberPointsChangedV1(member_id=uuid.uuid4(), delta=INT32_MAX + 1, balance=0, reason="grant"),
        lambda: MemberPointsChangedV1(member_id=uuid.uuid4(), delta=INT32_MIN - 1, balance=0, reason="spend"),
        lambda: MemberPointsChangedV1(member_id=uuid.uuid4(), delta=1, balance=INT32_MAX + 1, reason="grant"),
        lambda: MemberLevelChangedV1(member_id=uuid.uuid4(), from_level=0, to_level=INT32_MAX + 1),
        lambda: RewardGrantedV1(reward_id=uuid.uuid4(), member_id=uuid.uuid4(), points=INT32_MAX + 1, reason="x"),
        lambda: CheckinRecordedV1(campaign_id=uuid.uuid4(), member_id=uuid.uuid4(), day=date.today(), streak=0),
        lambda: CheckinRecordedV1(
            campaign_id=uuid.uuid4(), member_id=uuid.uuid4(), day=date.today(), streak=INT32_MAX + 1
        ),
    ],
    ids=["delta up", "delta down", "balance", "level", "reward points", "streak 0", "streak up"],
)
def test_points_levels_and_streaks_beyond_32_bits_or_below_their_floor_are_refused(build: Any) -> None:
    with pytest.raises(ValidationError):
        build()


def test_an_event_read_with_an_amount_beyond_64_bits_is_malformed() -> None:
    record = to_kafka(new_event(source="campaign-svc", tenant_id="tenant-1", payload=order(1)))
    value = json.loads(record.value)
    value["amount_fen"] = 2**64
    with pytest.raises(MalformedEvent):
        from_kafka(json.dumps(value).encode(), record.headers)


def test_the_types_say_what_their_columns_hold() -> None:
    bounds = {
        "Int64": (TypeAdapter(Int64), INT64_MIN, INT64_MAX),
        "Int32": (TypeAdapter(Int32), INT32_MIN, INT32_MAX),
        "Fen": (TypeAdapter(Fen), 0, INT64_MAX),
        "Count": (TypeAdapter(Count), 0, INT32_MAX),
    }
    for name, (adapter, lowest, highest) in bounds.items():
        assert adapter.validate_python(lowest) == lowest and adapter.validate_python(highest) == highest, name
        for beyond in (lowest - 1, highest + 1):
            with pytest.raises(ValidationError):
                adapter.validate_python(beyond)
