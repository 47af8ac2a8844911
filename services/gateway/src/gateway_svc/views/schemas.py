"""The aggregated views as front-ends read them: Member 360, a member's profile, tags, points and level
(member-svc), orders and coupons (campaign-svc), value segment, churn risk and lifetime value (analytics-svc)
and recent engagement (content-svc); the community dashboard, the community (member-svc), its headline KPIs,
health score and stage (analytics-svc), its content schedule (content-svc) and its running campaigns
(campaign-svc)."""

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from gateway_svc.views.examples import COMMUNITY_DASHBOARD_EXAMPLE, MEMBER_360_EXAMPLE
from gateway_svc.views.sections import Section

RECENT_ORDERS = 10
RECENT_ENGAGEMENTS = 20
SCHEDULE_DAYS = 7


class Member360Profile(BaseModel):
    id: uuid.UUID
    nickname: str
    phone: str | None = Field(description="Masked (138****1234) unless the caller holds members:personal_data.")
    gender: str | None
    age_band: str | None
    region: str | None
    persona_tags: list[str]
    lifecycle: str = Field(description="prospect, active or loyal.")
    segment: str | None
    churn_risk: bool
    level: int
    tags: list[str] = Field(description="Manual, rule and system tags.")
    created_at: datetime
    erased: bool


class Member360Level(BaseModel):
    level: int
    name: str
    threshold: int
    privileges: list[str]


class Member360ExpiringPoints(BaseModel):
    remaining: int | None
    expires_at: datetime | None


class Member360Points(BaseModel):
    balance: int
    debt: int = Field(description="Claw-backs the balance could not cover.")
    lifetime: int
    level: Member360Level
    next_level: Member360Level | None
    expiring: list[Member360ExpiringPoints] = Field(description="Points expiring within 30 days, soonest first.")


class Member360OrderItem(BaseModel):
    product_id: str
    quantity: int
    unit_price_fen: int


class Member360Order(BaseModel):
    id: uuid.UUID
    status: str
    community_id: uuid.UUID | None
    items: list[Member360OrderItem]
    amount_fen: int
    refunded_fen: int
    campaign_id: uuid.UUID | None
    coupon_id: uuid.UUID | None
    placed_at: datetime
    paid_at: datetime | None


class Member360Orders(BaseModel):
    orders: list[Member360Order] = Field(description=f"The latest {RECENT_ORDERS}, newest first.")
    next_cursor: str | None = Field(description="For GET /api/v1/campaigns/orders?member_id=...&cursor=...")


class Member360Coupon(BaseModel):
    id: uuid.UUID
    campaign_id: uuid.UUID
    status: str = Field(description="issued, redeemed or expired.")
    issued_at: datetime
    expires_at: datetime
    discount_fen: int | None
    redeemed_at: datetime | None


class Member360Scores(BaseModel):
    segment: str | None = Field(description="high_value, potential, ordinary or churn_risk.")
    recency_score: int | None
    frequency_score: int | None
    monetary_score: int | None
    churn_score: float | None
    churn_flagged: bool
    churn_reasons: list[str]
    probability_alive: float | None
    lifetime_value_fen: int | None
    orders: int
    spend_fen: int
    last_active_at: datetime | None
    scored_at: datetime | None


class Member360Engagement(BaseModel):
    content_id: uuid.UUID
    community_id: uuid.UUID | None
    action: str = Field(description="view, complete, like, comment, share or click.")
    occurred_at: datetime


class Member360(BaseModel):
    """Every section comes from one service and stands alone: `ok` with its data, or `unavailable` or
    `forbidden` with the reason."""

    model_config = ConfigDict(json_schema_extra={"examples": [MEMBER_360_EXAMPLE]})
    member_id: uuid.UUID
    profile: Section[Member360Profile]
    points: Section[Member360Points]
    orders: Section[Member360Orders]
    coupons: Section[list[Member360Coupon]]
    scores: Section[Member360Scores]
    engagement: Section[list[Member360Engagement]] = Field(description=f"The latest {RECENT_ENGAGEMENTS} actions.")


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
