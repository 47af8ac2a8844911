"""analytics-svc API models."""

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from analytics_svc.kpis import Granularity


class CommunityMemberCount(BaseModel):
    community_id: uuid.UUID
    members: int = Field(description="Members now in the community: joins minus leaves.")
    joined_total: int
    left_total: int


class KpiDefinition(BaseModel):
    name: str
    unit: str
    definition: str


class KpiPoint(BaseModel):
    start: date
    end: date
    value: float | None = Field(description="None where the KPI is undefined (a rate over zero members).")


class KpiSeries(BaseModel):
    kpi: str
    unit: str
    granularity: Granularity
    community_id: uuid.UUID | None
    points: list[KpiPoint]


class KpiByCommunity(BaseModel):
    community_id: uuid.UUID
    value: float | None


class KpiBreakdown(BaseModel):
    kpi: str
    unit: str
    start: date
    end: date
    communities: list[KpiByCommunity]


class KpiWindow(BaseModel):
    days: int
    start: date
    end: date
    values: dict[str, float | None] = Field(description="Per KPI; None where undefined (a rate over zero members).")


class CommunityKpis(BaseModel):
    community_id: uuid.UUID
    units: dict[str, str] = Field(description="Per KPI.")
    windows: list[KpiWindow] = Field(description="In the order the windows were asked for.")


class AlertRuleCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
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


class AlertRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    rule_id: uuid.UUID
    kpi: str
    level: str
    value: float
    threshold: float
    community_id: uuid.UUID | None
    raised_at: datetime
    resolved_at: datetime | None


class CohortRowRead(BaseModel):
    cohort_start: date
    cohort_end: date
    members: int
    values: list[float | None] = Field(description="Per period from the cohort's own on: a share, or fen.")


class FunnelStepRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    step: str
    members: int
    conversion: float | None = Field(description="From the step before.")
    median_days: float | None = Field(description="Median days from the step before, for those who made it.")


class InviterRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    member_id: uuid.UUID
    invites_sent: int
    joins: int = Field(description="Members who joined the brand for the first time by their invitation.")
    first_orders: int = Field(description="Of those, the ones who have ordered since.")


class ReachRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    invites_sent: int
    referred_joins: int
    members_before: int = Field(description="Members there when the span began.")
    k_factor: float | None = Field(description="referred_joins / members_before.")


class CommunityReachRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    community_id: uuid.UUID
    reach: ReachRead = Field(description="Joins here are members new to the community.")


class CampaignReachRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    campaign_id: uuid.UUID
    name: str | None
    start: datetime = Field(description="The span measured: the campaign's run within the range asked for.")
    end: datetime
    reach: ReachRead


class ReferralsRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    inviters: list[InviterRead]
    invites_sent: int
    referred_joins: int
    tree_depth: int
    k_factor: float | None = Field(description="Referred joins in the range per member at its start.")
    communities: list[CommunityReachRead]
    campaigns: list[CampaignReachRead] = Field(description="Referral campaigns that ran in the range.")


class MetricRead(BaseModel):
    dimension: str
    name: str
    value: float | None
    score: float | None
    target: float


class HealthRead(BaseModel):
    community_id: uuid.UUID
    as_of: date
    members: int
    age_days: int
    score: float | None
    stage: str
    dimensions: dict[str, float | None]
    metrics: list[MetricRead]


class ContentRank(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    content_id: uuid.UUID
    community_id: uuid.UUID | None
    content_type: str | None
    posted_at: datetime | None
    views: int
    completes: int
    likes: int
    comments: int
    shares: int
    clicks: int
