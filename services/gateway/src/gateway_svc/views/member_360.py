"""Member 360: a member's profile, tags, points and level (member-svc), orders and coupons (campaign-svc),
value segment, churn risk and lifetime value (analytics-svc) and recent engagement (content-svc)."""

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from gateway_svc.views.examples import MEMBER_360_EXAMPLE
from gateway_svc.views.sections import Section, ViewSource, concurrently
from qunyun_shared.problems import NotFound

RECENT_ORDERS = 10
RECENT_ENGAGEMENTS = 20


class MemberNotFound(NotFound):
    slug, title = "member-not-found", "Member not found"


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


_PROFILE = TypeAdapter(Member360Profile)
_POINTS = TypeAdapter(Member360Points)
_ORDERS = TypeAdapter(Member360Orders)
_COUPONS = TypeAdapter(list[Member360Coupon])
_SCORES = TypeAdapter(Member360Scores)
_ENGAGEMENT = TypeAdapter(list[Member360Engagement])


async def view_member(*, source: ViewSource, member_id: uuid.UUID) -> Member360:
    """The Member 360 of a member of the caller's tenant, its sections fetched at once."""
    member, by_member = f"members/{member_id}", [("member_id", str(member_id))]
    missing = MemberNotFound(f"No member {member_id}.")
    async with concurrently() as group:
        profile = group.create_task(
            source.subject("profile", "members:read", lambda: source.get(member, _PROFILE, missing=missing))
        )
        points = group.create_task(
            source.section("points", "members:read", lambda: source.get(f"{member}/points", _POINTS))
        )
        orders = group.create_task(
            source.section(
                "orders",
                "campaigns:read",
                lambda: source.get("campaigns/orders", _ORDERS, [*by_member, ("limit", str(RECENT_ORDERS))]),
            )
        )
        coupons = group.create_task(
            source.section("coupons", "campaigns:read", lambda: source.get("campaigns/coupons", _COUPONS, by_member))
        )
        scores = group.create_task(
            source.section("scores", "analytics:read", lambda: source.get(f"analytics/{member}", _SCORES))
        )
        engagement = group.create_task(
            source.section(
                "engagement",
                "content:read",
                # content-svc knows a member from their first join, tag or engagement: before, none to show.
                lambda: source.get(
                    f"content/{member}/engagements", _ENGAGEMENT, [("limit", str(RECENT_ENGAGEMENTS))], unknown=[]
                ),
            )
        )
    return Member360(
        member_id=member_id,
        profile=profile.result(),
        points=points.result(),
        orders=orders.result(),
        coupons=coupons.result(),
        scores=scores.result(),
        engagement=engagement.result(),
    )
