"""Building the aggregated views: every section of a Member 360 or a community dashboard fetched at once,
each from its service as the caller."""

import uuid
from datetime import UTC, datetime, timedelta

from pydantic import TypeAdapter

from gateway_svc.views.exceptions import CommunityNotFound, MemberNotFound
from gateway_svc.views.schemas import (
    RECENT_ENGAGEMENTS,
    RECENT_ORDERS,
    SCHEDULE_DAYS,
    CommunityDashboard,
    DashboardCampaign,
    DashboardCommunity,
    DashboardHealth,
    DashboardKpis,
    DashboardPlacement,
    Member360,
    Member360Coupon,
    Member360Engagement,
    Member360Orders,
    Member360Points,
    Member360Profile,
    Member360Scores,
)
from gateway_svc.views.sections import ViewSource, concurrently

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
RUNNING_CAMPAIGNS = 50

_PROFILE = TypeAdapter(Member360Profile)
_POINTS = TypeAdapter(Member360Points)
_ORDERS = TypeAdapter(Member360Orders)
_COUPONS = TypeAdapter(list[Member360Coupon])
_SCORES = TypeAdapter(Member360Scores)
_ENGAGEMENT = TypeAdapter(list[Member360Engagement])


_COMMUNITY = TypeAdapter(DashboardCommunity)
_KPIS = TypeAdapter(DashboardKpis)
_HEALTH = TypeAdapter(DashboardHealth)
_SCHEDULE = TypeAdapter(list[DashboardPlacement])
_CAMPAIGNS = TypeAdapter(list[DashboardCampaign])


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
