"""Rule conditions without I/O: the facts each trigger offers, a condition checked against them when a rule
is written (so a typo is refused, not a rule that silently never matches), and evaluated on an event."""

import json
import operator
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal, Union, get_args, get_origin
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from qunyun_shared.events.analytics import MemberChurnRiskV1
from qunyun_shared.events.campaign import CheckinRecordedV1, CouponRedeemedV1, OrderPaidV1, OrderPlacedV1
from qunyun_shared.events.content import ContentEngagedV1
from qunyun_shared.events.member import MemberConsentChangedV1, MemberJoinedV1, MemberLevelChangedV1

Subject = Literal["event", "member"]
Op = Literal["eq", "ne", "gt", "gte", "lt", "lte", "in", "not_in", "exists"]


class MemberBirthday(BaseModel):
    """The facts of `member.birthday`, raised by the daily sweep on a member's birthday in the tenant's zone."""

    model_config = ConfigDict(frozen=True)
    member_id: UUID
    birthday: str


# What each trigger's event carries; a rule's `event` conditions may name these fields (nested: `a.b`).
EVENT_FACTS: dict[str, type[BaseModel]] = {
    "member.joined": MemberJoinedV1,
    "member.churn_risk": MemberChurnRiskV1,
    "member.consent_changed": MemberConsentChangedV1,
    "member.level_changed": MemberLevelChangedV1,
    "member.birthday": MemberBirthday,
    "content.engaged": ContentEngagedV1,
    "order.placed": OrderPlacedV1,
    "order.paid": OrderPaidV1,
    "checkin.recorded": CheckinRecordedV1,
    "coupon.redeemed": CouponRedeemedV1,
}


@dataclass(frozen=True)
class FieldType:
    """A fact's type: a scalar `kind`, the values a closed set allows, or a list of them (`many`)."""

    kind: type
    choices: frozenset[str] | None = None
    many: bool = False


# The campaign view of a member (`members.models.Member`) that rules may test.
MEMBER_FIELDS: dict[str, FieldType] = {
    "level": FieldType(int),
    "churn_risk": FieldType(bool),
    "communities_joined": FieldType(int),
    "engagements": FieldType(int),
    "marketing_consent": FieldType(bool),
    "birthday": FieldType(str),
    "inviter_id": FieldType(UUID),
    "first_joined_at": FieldType(datetime),
    "last_engaged_at": FieldType(datetime),
    "consent_changed_at": FieldType(datetime),
}

_SCALARS = (bool, int, float, str, UUID, datetime, date)
_ORDERED = (int, float, str, datetime, date)
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}
MAX_LISTED = 100


def _type_of(annotation: Any) -> FieldType | None:
    if get_origin(annotation) in (Union, types.UnionType):
        present = [arg for arg in get_args(annotation) if arg is not type(None)]
        return _type_of(present[0]) if len(present) == 1 else None
    if get_origin(annotation) is Literal:
        return FieldType(str, frozenset(get_args(annotation)))
    if get_origin(annotation) is list:
        item = _type_of(get_args(annotation)[0])
        return FieldType(item.kind, item.choices, many=True) if item is not None and not item.many else None
    return FieldType(annotation) if annotation in _SCALARS else None


def _fields_of(model: type[BaseModel], prefix: str = "") -> dict[str, FieldType]:
    found: dict[str, FieldType] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            found |= _fields_of(annotation, f"{prefix}{name}.")
        elif (field_type := _type_of(annotation)) is not None:
            found[prefix + name] = field_type
    return found


EVENT_FIELDS: dict[str, dict[str, FieldType]] = {trigger: _fields_of(model) for trigger, model in EVENT_FACTS.items()}


@dataclass(frozen=True)
class Check:
    """A condition ready to evaluate: its operand parsed to the field's type once, and how to name it."""

    subject: str
    field: str
    op: str
    operand: Any
    label: str


def compile_condition(trigger: str, subject: str, field: str, op: str, value: Any) -> Check:
    """The condition as a check, or ValueError saying why it can never be meaningful for `trigger`."""
    fields = MEMBER_FIELDS if subject == "member" else EVENT_FIELDS[trigger]
    field_type = fields.get(field)
    if field_type is None:
        owner = "a member" if subject == "member" else f"a {trigger} event"
        raise ValueError(f"{subject}.{field} is not a field of {owner}; known: {', '.join(sorted(fields))}")
    try:
        operand = _operand(field_type, op, value)
    except ValueError as exc:
        raise ValueError(f"{subject}.{field}: {exc}") from None
    shown = "" if op == "exists" and value in (None, True) else f" {_shown(value)}"
    return Check(subject, field, op, operand, f"{subject}.{field} {op}{shown}")


def _operand(field_type: FieldType, op: str, value: Any) -> Any:
    if op == "exists":
        if value is None or isinstance(value, bool):
            return value is not False
        raise ValueError("exists takes true, false or no value")
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_LISTED:
            raise ValueError(f"{op} takes a list of 1 to {MAX_LISTED} values")
        return frozenset(_scalar(field_type, item) for item in value)
    if field_type.many:
        raise ValueError(f"a list takes in, not_in or exists, not {op}")
    if op in _COMPARISONS and field_type.kind not in _ORDERED:
        raise ValueError(f"{op} does not apply to a {field_type.kind.__name__}")
    return _scalar(field_type, value)


def _scalar(field_type: FieldType, value: Any) -> Any:
    """`value` as JSON gave it, parsed to the field's type; ValueError if it is not one."""
    kind = field_type.kind
    parsed: Any = None
    if kind is bool or isinstance(value, bool):
        parsed = value if kind is bool and isinstance(value, bool) else None
    elif kind is int:
        parsed = value if isinstance(value, int) else None
    elif kind is float:
        parsed = float(value) if isinstance(value, int | float) else None
    elif isinstance(value, str) and (kind is str and (field_type.choices is None or value in field_type.choices)):
        parsed = value
    elif isinstance(value, str) and kind in (UUID, datetime, date):
        parsed = _parsed(kind, value)
    if parsed is None and field_type.choices:
        raise ValueError(f"{_shown(value)} is not one of {', '.join(sorted(field_type.choices))}")
    if parsed is None:
        raise ValueError(f"{_shown(value)} is not a valid {kind.__name__}")
    return parsed


def _parsed(kind: type, text: str) -> Any:
    try:
        if kind is UUID:
            return UUID(text)
        if kind is date:
            return date.fromisoformat(text)
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def first_unmet(checks: Sequence[Check], event: BaseModel, member: object | None) -> str | None:
    """Why the first check that fails fails, or None when every check holds. No member: member checks fail."""
    for check in checks:
        if check.subject == "member":
            if member is None:
                return "member unknown"
            actual = getattr(member, check.field)
        else:
            actual = _value_at(event, check.field)
        if not holds(check.op, actual, check.operand):
            return f"condition {check.label} not met"
    return None


def _value_at(event: BaseModel, path: str) -> Any:
    value: Any = event
    for name in path.split("."):
        value = getattr(value, name)
    return value


def holds(op: str, actual: Any, operand: Any) -> bool:
    """Whether `actual op operand`. A missing value is only ever `ne`, `not_in` or `exists false`; a list
    is `in` when any of its items is among the values."""
    if op == "exists":
        return (actual is not None and actual != []) is operand
    if isinstance(actual, list):
        overlaps = any(item in operand for item in actual)
        return overlaps if op == "in" else not overlaps
    if op == "in":
        return actual in operand
    if op == "not_in":
        return actual not in operand
    if op == "eq":
        return bool(actual == operand)
    if op == "ne":
        return bool(actual != operand)
    return actual is not None and _COMPARISONS[op](actual, operand)
