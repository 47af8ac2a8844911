"""Tags and tag rules in the API: what a rule may look at, and how it compares."""

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, model_validator

from member_svc.inputs import Input
from qunyun_shared.events.integers import INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN
from qunyun_shared.schemas import Read

TagName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[^\s,:][^,\x00-\x1f]*$", examples=["宝妈"])]

# What a tag rule may look at: profile attributes, counts from events, points, and other tags.
TEXT_FIELDS = ("gender", "age_band", "region", "lifecycle", "segment")
NUMBER_FIELDS = ("level", "orders", "order_total_fen", "participations", "points_balance", "points_lifetime")
# What the fields' columns hold (64-bit money, 32-bit counts): a rule comparing with more could not be run.
_INT32, _INT64 = (INT32_MIN, INT32_MAX), (INT64_MIN, INT64_MAX)
_NUMBER_RANGES = {field: _INT64 if field == "order_total_fen" else _INT32 for field in NUMBER_FIELDS}
MEMBERSHIP_FIELDS = ("has_tag", "in_community")
RuleField = Literal[
    "gender",
    "age_band",
    "region",
    "lifecycle",
    "segment",
    "churn_risk",
    "level",
    "orders",
    "order_total_fen",
    "participations",
    "points_balance",
    "points_lifetime",
    "has_tag",
    "in_community",
]
RuleOp = Literal["eq", "ne", "in", "gt", "gte", "lt", "lte"]


class Condition(Input):
    field: RuleField
    op: RuleOp = "eq"
    value: str | int | bool | list[str] | list[int]

    @model_validator(mode="after")
    def _value_fits_field(self) -> "Condition":
        value, field, op = self.value, self.field, self.op
        if op == "in":
            if not isinstance(value, list) or not value:
                raise ValueError(f"{field} in needs a non-empty list")
        elif isinstance(value, list):
            raise ValueError(f"{field} {op} needs a single value")
        if field in NUMBER_FIELDS and not all(
            isinstance(v, int) and not isinstance(v, bool) for v in (value if isinstance(value, list) else [value])
        ):
            raise ValueError(f"{field} compares with whole numbers")
        if field in NUMBER_FIELDS and not all(
            _NUMBER_RANGES[field][0] <= v <= _NUMBER_RANGES[field][1]
            for v in (value if isinstance(value, list) else [value])
            if isinstance(v, int)
        ):
            raise ValueError(
                f"{field} compares with numbers from {_NUMBER_RANGES[field][0]} to {_NUMBER_RANGES[field][1]}"
            )
        if field not in NUMBER_FIELDS and op in ("gt", "gte", "lt", "lte"):
            raise ValueError(f"{field} supports eq, ne and in only")
        if field == "churn_risk" and (op == "in" or not isinstance(value, bool)):
            raise ValueError("churn_risk compares with true or false")
        if field in TEXT_FIELDS + MEMBERSHIP_FIELDS and not all(
            isinstance(v, str) for v in (value if isinstance(value, list) else [value])
        ):
            raise ValueError(f"{field} compares with text")
        if field in MEMBERSHIP_FIELDS and op not in ("eq", "ne"):
            raise ValueError(f"{field} supports eq (has) and ne (has not)")
        if field == "in_community":
            uuid.UUID(str(value))
        return self


class TagRuleBody(Input):
    tag: TagName
    match: Literal["all", "any"] = "all"
    conditions: list[Condition] = Field(
        min_length=1,
        max_length=20,
        examples=[[{"field": "orders", "op": "gte", "value": 3}, {"field": "region", "op": "eq", "value": "上海"}]],
    )
    description: str | None = Field(default=None, max_length=200)


class TagRuleRead(TagRuleBody):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    members: int = Field(description="Members carrying the tag now.")


class TagAdd(Input):
    tag: TagName


class MemberTagRead(Read):
    tag: str
    kind: Literal["manual", "rule", "system"]
    added_at: datetime
