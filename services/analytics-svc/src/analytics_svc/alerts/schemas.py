"""Request and response models of alert rules and the alerts they raised."""

import uuid
from datetime import datetime
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from qunyun_shared.schemas import Input, Read


class AlertRuleCreate(Input):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"kpi": "weekly_active_rate", "condition": "below", "threshold": 0.3, "level": "warning"}]
        },
    )
    kpi: str = Field(description="A KPI of GET /analytics/kpis.")
    condition: Literal["below", "above", "drop_pct", "rise_pct"] = Field(
        description="below/above: the KPI over the last complete week against the threshold; drop_pct/rise_pct: "
        "its change in percent against the week before."
    )
    threshold: float = Field(allow_inf_nan=False)
    level: Literal["info", "warning", "critical"]
    community_id: uuid.UUID | None = None

    @model_validator(mode="after")
    def _positive_change(self) -> "AlertRuleCreate":
        if self.condition in ("drop_pct", "rise_pct") and self.threshold <= 0:
            raise ValueError("a change threshold is a positive percentage")
        return self


class AlertRuleRead(AlertRuleCreate):
    model_config = ConfigDict(from_attributes=True, extra="ignore")
    id: uuid.UUID
    created_at: datetime
    breached: bool
    last_value: float | None
    evaluated_at: datetime | None


class AlertRead(Read):
    id: uuid.UUID
    rule_id: uuid.UUID
    kpi: str
    level: str
    value: float
    threshold: float
    community_id: uuid.UUID | None
    raised_at: datetime
    resolved_at: datetime | None
