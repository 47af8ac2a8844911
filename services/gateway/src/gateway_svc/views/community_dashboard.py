"""Community dashboard: the community (member-svc), its headline KPIs, health score and stage
(analytics-svc), its content schedule (content-svc) and its running campaigns (campaign-svc)."""

import uuid
from datetime import UTC, date, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from gateway_svc.views.examples import COMMUNITY_DASHBOARD_EXAMPLE
from gateway_svc.views.sections import Section, ViewSource, concurrently
from qunyun_shared.problems import NotFound

# What operators watch first: scale, activity against the 50% weekly target, conversion and money.
HEADLINE_KPIS = (
    "members_total",
    "members_new",
    "weekly_active_rate",
    "interaction_rate",
    "order_conversion_rate",
    "repurchase_rate_30d",
    "gmv_fen",
)
KPI_WINDOWS_DAYS = (7, 30)
SCHEDULE_DAYS = 7
RUNNING_CAMPAIGNS = 50


class CommunityNotFound(NotFound):
    slug, title = "community-not-found", "Community not found"


class DashboardCommunity(BaseModel):
    id: uuid.UUID
    name: str
    kind: str = Field(description="vertical, welfare, interest or vip.")
    tier: str = Field(description="core, active or potential.")
    capacity: int
    member_count: int
    entry_rule: str
    created_at: datetime
    archived_at: datetime | None


class DashboardKpiWindow(BaseModel):
    days: int
    start: date
    end: date
    values: dict[str, float | None] = Field(description="Per KPI; null where undefined (a rate over no members).")


class DashboardKpis(BaseModel):
    units: dict[str, str] = Field(description="Per KPI: members, rate, fen, score or orders.")
    windows: list[DashboardKpiWindow] = Field(description="The last 7 and the last 30 days, each ending today.")


class DashboardHealthMetric(BaseModel):
    dimension: str
    name: str
    value: float | None
    score: float | None
    target: float


class DashboardHealth(BaseModel):
    as_of: date
    score: float | None = Field(description="0 to 100, over the last 30 days.")
    stage: str = Field(description="startup, growth, mature or decline.")
    dimensions: dict[str, float | None]
    metrics: list[DashboardHealthMetric]


class DashboardPlacement(BaseModel):
    id: uuid.UUID
    content_id: uuid.UUID
    content_type: str
    publish_at: datetime
    status: str = Field(description="scheduled, published or cancelled.")
    audience_size: int | None


class DashboardCampaign(BaseModel):
    id: uuid.UUID
    kind: str
    name: str
    community_id: uuid.UUID | None = Field(description="Null: run in every community of the tenant.")
    starts_at: datetime
    ends_at: datetime | None
    budget_fen: int | None


class CommunityDashboard(BaseModel):
    """Every section comes from one service and stands alone: `ok` with its data, or `unavailable` or
    `forbidden` with the reason."""

    model_config = ConfigDict(json_schema_extra={"examples": [COMMUNITY_DASHBOARD_EXAMPLE]})
    community_id: uuid.UUID
    community: Section[DashboardCommunity]
    kpis: Section[DashboardKpis]
    health: Section[DashboardHealth]
    schedule: Section[list[DashboardPlacement]] = Field(
        description=f"Placements publishing in the next {SCHEDULE_DAYS} days."
    )
    campaigns: Section[list[DashboardCampaign]] = Field(description="Running, in this community or in every community.")


_COMMUNITY = TypeAdapter(DashboardCommunity)
_KPIS = TypeAdapter(DashboardKpis)
_HEALTH = TypeAdapter(DashboardHealth)
_SCHEDULE = TypeAdapter(list[DashboardPlacement])
_CAMPAIGNS = TypeAdapter(list[DashboardCampaign])


async def view_community(*, source: ViewSource, community_id: uuid.UUID) -> CommunityDashboard:
    """The dashboard of a community of the caller's tenant, its sections fetched at once."""
    community, analytics = f"communities/{community_id}", f"analytics/communities/{community_id}"
    missing = CommunityNotFound(f"No community {community_id}.")
    kpis = [*(("kpi", name) for name in HEADLINE_KPIS), *(("days", str(days)) for days in KPI_WINDOWS_DAYS)]
    now = datetime.now(UTC)
    coming = [("start", now.isoformat()), ("end", (now + timedelta(days=SCHEDULE_DAYS)).isoformat())]
    running = [("status", "running"), ("community_id", str(community_id)), ("limit", str(RUNNING_CAMPAIGNS))]
    async with concurrently() as group:
        found = group.create_task(
            source.subject("community", "members:read", lambda: source.get(community, _COMMUNITY, missing=missing))
        )
        measured = group.create_task(
            source.section("kpis", "analytics:read", lambda: source.get(f"{analytics}/kpis", _KPIS, kpis))
        )
        health = group.create_task(
            source.section("health", "analytics:read", lambda: source.get(f"{analytics}/health", _HEALTH))
        )
        schedule = group.create_task(
            source.section(
                "schedule", "content:read", lambda: source.get(f"content/{community}/calendar", _SCHEDULE, coming)
            )
        )
        campaigns = group.create_task(
            source.section("campaigns", "campaigns:read", lambda: source.get("campaigns", _CAMPAIGNS, running))
        )
    return CommunityDashboard(
        community_id=community_id,
        community=found.result(),
        kpis=measured.result(),
        health=health.result(),
        schedule=schedule.result(),
        campaigns=campaigns.result(),
    )
