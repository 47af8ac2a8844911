"""Automation rules, their runs and the playbooks in the API."""

import uuid
from collections import Counter
from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, model_validator

from campaign_svc.automation.conditions import Op, Subject, compile_condition
from qunyun_shared.schemas import Input, Read

Trigger = Literal[
    "member.joined",
    "member.churn_risk",
    "member.consent_changed",
    "member.level_changed",
    "member.birthday",
    "content.engaged",
    "order.placed",
    "order.paid",
    "checkin.recorded",
    "coupon.redeemed",
]
Outcome = Literal["fired", "skipped", "deferred", "failed"]
Playbook = Literal["welcome_pack", "first_order", "birthday", "win_back"]
JsonScalar = str | int | float | bool
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class Condition(BaseModel):
    """`subject.field op value`; `in`/`not_in` take a list (on a list field: any item among the values),
    `exists` takes true, false or nothing."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    subject: Subject
    field: str = Field(min_length=1, max_length=64)
    op: Op
    value: JsonScalar | list[JsonScalar] | None = None


class IssueCoupon(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["issue_coupon"]
    coupon_template_id: uuid.UUID


class AddPoints(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["add_points"]
    points: int = Field(ge=1, le=1_000_000)


class AddTag(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["add_tag"]
    tag: str = Field(min_length=1, max_length=64)


class NotifyMerchant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    type: Literal["notify_merchant"]
    message: str = Field(min_length=1, max_length=500)


Action = Annotated[IssueCoupon | AddPoints | AddTag | NotifyMerchant, Field(discriminator="type")]
ACTIONS: TypeAdapter[list[Action]] = TypeAdapter(list[Action])
# What reaches a member as marketing needs their marketing consent and waits out quiet hours; a tag does not.
MARKETING_ACTIONS = frozenset({"issue_coupon", "add_points", "notify_merchant"})


class FrequencyCap(BaseModel):
    """At most `max_fires` firings of the rule per member in any `per_days` days."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    max_fires: int = Field(ge=1, le=1000)
    per_days: int = Field(ge=1, le=366)


class RuleCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "老客回归礼",
                    "trigger": "member.churn_risk",
                    "conditions": [
                        {"subject": "event", "field": "score", "op": "gte", "value": 0.7},
                        {"subject": "member", "field": "level", "op": "gte", "value": 2},
                    ],
                    "actions": [
                        {"type": "issue_coupon", "coupon_template_id": "0b7e6a52-5f0e-4f3e-9d1a-2c8f1d0e9a11"},
                        {"type": "add_tag", "tag": "win-back"},
                        {"type": "notify_merchant", "message": "高价值会员有流失风险, 已发回归券"},
                    ],
                    "frequency_cap": {"max_fires": 1, "per_days": 30},
                    "campaign_id": "6f1c2a9e-8a43-4b8e-9a55-0b8f5a3c1d20",
                }
            ]
        },
    )
    name: Name
    trigger: Trigger
    conditions: list[Condition] = Field(default=[], max_length=20, description="All must hold.")
    actions: list[Action] = Field(min_length=1, max_length=5)
    frequency_cap: FrequencyCap | None = None
    campaign_id: uuid.UUID | None = Field(default=None, description="The budget account of points and coupons.")
    enabled: bool = True

    @model_validator(mode="after")
    def _conditions_fit_the_trigger(self) -> Self:
        for position, condition in enumerate(self.conditions):
            try:
                compile_condition(self.trigger, condition.subject, condition.field, condition.op, condition.value)
            except ValueError as exc:
                raise ValueError(f"conditions[{position}]: {exc}") from None
        return self

    @model_validator(mode="after")
    def _actions_do_not_repeat(self) -> Self:
        kinds = Counter(action.type for action in self.actions)
        repeated = sorted(kind for kind, count in kinds.items() if count > 1 and kind != "issue_coupon")
        templates = [action.coupon_template_id for action in self.actions if isinstance(action, IssueCoupon)]
        if repeated or len(set(templates)) != len(templates):
            raise ValueError("actions repeat: give each kind once, and each coupon template once")
        return self


class RuleUpdate(Input):
    enabled: bool


class RuleRead(Read):
    id: uuid.UUID
    name: str
    enabled: bool
    trigger: Trigger
    conditions: list[Condition]
    actions: list[Action]
    frequency_cap: FrequencyCap | None
    campaign_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class PlaybookCreate(BaseModel):
    """A ready-made rule: welcome pack (a member's first join), first-order discount (every join; the
    template's per-member limit keeps it to one), birthday perk, win-back (churn risk)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"coupon_template_id": "0b7e6a52-5f0e-4f3e-9d1a-2c8f1d0e9a11", "points": 50}]},
    )
    coupon_template_id: uuid.UUID
    points: int = Field(default=0, ge=0, le=1_000_000)
    name: Name | None = Field(default=None, description="Default: the playbook's own name.")
    frequency_cap: FrequencyCap | None = Field(default=None, description="Default: once per 30 days for win_back.")


class RunRead(Read):
    id: uuid.UUID
    rule_id: uuid.UUID
    member_id: uuid.UUID
    event_id: str
    trigger: str
    outcome: Outcome
    reason: str | None
    evaluated_at: datetime
    latency_ms: int
    deferred_until: datetime | None
    executed_at: datetime | None


class RunPage(BaseModel):
    runs: list[RunRead]
    next_cursor: str | None
