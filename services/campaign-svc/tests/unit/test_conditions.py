"""Rule conditions: refused when they could never mean anything for their trigger, evaluated without I/O."""

import re
import uuid
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, get_args

import pytest

from campaign_svc.automation.conditions import EVENT_FACTS, EVENT_FIELDS, compile_condition, first_unmet, holds
from campaign_svc.automation.schemas import Trigger
from qunyun_shared.events.campaign import Attribution, OrderPlacedV1
from qunyun_shared.events.member import MemberJoinedV1

pytestmark = pytest.mark.unit


def order(**fields: Any) -> OrderPlacedV1:
    defaults: dict[str, Any] = {
        "order_id": uuid.uuid4(),
        "member_id": uuid.uuid4(),
        "amount_fen": 12_000,
        "product_ids": ["sku-1", "sku-2"],
        "placed_at": datetime(2026, 6, 15, 4, tzinfo=UTC),
    }
    return OrderPlacedV1(**(defaults | fields))


def test_every_trigger_of_the_api_has_its_facts() -> None:
    assert set(get_args(Trigger)) == set(EVENT_FACTS)


def test_event_fields_come_from_the_payload_nested_ones_dotted() -> None:
    fields = EVENT_FIELDS["order.placed"]
    assert {"amount_fen", "product_ids", "attribution.campaign_id", "placed_at"} <= set(fields)
    assert fields["product_ids"].many
    assert EVENT_FIELDS["member.joined"]["channel"].choices == frozenset(
        {"ad", "friend", "qr", "store", "invite", "import", "other"}
    )


@pytest.mark.parametrize(
    ("trigger", "subject", "field", "op", "value", "complaint"),
    [
        ("member.joined", "member", "levle", "gte", 2, "member.levle is not a field of a member"),
        ("order.paid", "event", "amount", "gte", 1, "event.amount is not a field of a order.paid event"),
        ("order.paid", "event", "channel", "eq", "qr", "is not a field"),
        ("member.joined", "event", "channel", "eq", "qrr", "qrr is not one of ad, friend"),
        ("member.joined", "member", "level", "eq", "two", "not a valid int"),
        ("member.joined", "member", "level", "eq", 2.5, "not a valid int"),
        ("member.joined", "member", "level", "eq", True, "not a valid int"),
        ("member.joined", "member", "churn_risk", "gt", True, "gt does not apply to a bool"),
        ("member.joined", "member", "inviter_id", "lt", str(uuid.uuid4()), "lt does not apply to a UUID"),
        ("member.joined", "member", "inviter_id", "eq", "not-a-uuid", "not a valid UUID"),
        ("member.joined", "member", "first_joined_at", "gte", "2026-01-01T00:00:00", "not a valid datetime"),
        ("member.joined", "member", "level", "in", 2, "in takes a list"),
        ("member.joined", "member", "level", "in", [], "in takes a list"),
        ("member.joined", "member", "level", "exists", 3, "exists takes true, false or no value"),
        ("order.placed", "event", "product_ids", "eq", "sku-1", "a list takes in, not_in or exists"),
    ],
)
def test_a_condition_that_cannot_mean_anything_is_refused(
    trigger: str, subject: str, field: str, op: str, value: Any, complaint: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)):
        compile_condition(trigger, subject, field, op, value)


def test_values_are_parsed_to_the_field_type_once() -> None:
    campaign_id = uuid.uuid4()
    check = compile_condition("order.placed", "event", "attribution.campaign_id", "eq", str(campaign_id))
    assert check.operand == campaign_id
    assert compile_condition("member.churn_risk", "event", "score", "gte", 1).operand == 1.0
    since = compile_condition("order.placed", "event", "placed_at", "gte", "2026-06-01T00:00:00+08:00").operand
    assert since == datetime(2026, 5, 31, 16, tzinfo=UTC)


def test_conditions_hold_on_the_event() -> None:
    campaign_id = uuid.uuid4()
    placed = order(attribution=Attribution(campaign_id=campaign_id))
    checks = [
        compile_condition("order.placed", "event", "amount_fen", "gte", 10_000),
        compile_condition("order.placed", "event", "product_ids", "in", ["sku-2", "sku-9"]),
        compile_condition("order.placed", "event", "attribution.campaign_id", "eq", str(campaign_id)),
        compile_condition("order.placed", "event", "attribution.coupon_id", "exists", False),
    ]
    assert first_unmet(checks, placed, member=None) is None


def test_the_first_unmet_condition_is_the_reason() -> None:
    small = order(amount_fen=500)
    checks = [
        compile_condition("order.placed", "event", "amount_fen", "gte", 10_000),
        compile_condition("order.placed", "member", "level", "gte", 2),
    ]
    assert first_unmet(checks, small, SimpleNamespace(level=3)) == "condition event.amount_fen gte 10000 not met"
    assert first_unmet(checks[1:], small, SimpleNamespace(level=1)) == "condition member.level gte 2 not met"
    assert first_unmet(checks[1:], small, member=None) == "member unknown"


def test_a_missing_value_only_differs() -> None:
    assert not holds("eq", None, 1)
    assert not holds("gt", None, 1)
    assert not holds("in", None, frozenset({1}))
    assert holds("ne", None, 1)
    assert holds("not_in", None, frozenset({1}))
    assert holds("exists", None, False)
    assert not holds("exists", [], True)


def test_a_list_is_in_when_any_item_is_among_the_values() -> None:
    assert holds("in", ["a", "b"], frozenset({"b", "c"}))
    assert not holds("in", ["a"], frozenset({"b"}))
    assert holds("not_in", ["a"], frozenset({"b"}))
    assert not holds("not_in", ["a", "b"], frozenset({"b"}))


def test_labels_read_as_written() -> None:
    joined = MemberJoinedV1(
        member_id=uuid.uuid4(), community_id=uuid.uuid4(), channel="qr", joined_at=datetime.now(UTC)
    )
    check = compile_condition("member.joined", "event", "channel", "in", ["invite", "friend"])
    assert first_unmet([check], joined, None) == 'condition event.channel in ["invite", "friend"] not met'
    assert compile_condition("member.joined", "event", "inviter_id", "exists", None).label == "event.inviter_id exists"
