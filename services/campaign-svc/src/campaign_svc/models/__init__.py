"""campaign-svc tables, one module per part of the domain; importing this package declares them all."""

from campaign_svc.models.automation import AutomationDeferral, AutomationRule, AutomationRun
from campaign_svc.models.base import ERASED_MEMBERS, IDEMPOTENCY_KEYS, MESSAGING, Base
from campaign_svc.models.campaigns import Campaign, CampaignStock, MemberQuota
from campaign_svc.models.checkins import Checkin, CheckinMilestone
from campaign_svc.models.coupons import Coupon, CouponTemplate
from campaign_svc.models.experiments import (
    Experiment,
    ExperimentConversion,
    ExperimentExposure,
    ExperimentVariant,
)
from campaign_svc.models.group_buys import Seat, Team
from campaign_svc.models.lotteries import Lottery, LotteryDraw, LotteryPrize
from campaign_svc.models.members import Member
from campaign_svc.models.orders import Order, Refund
from campaign_svc.models.referrals import ReferralReward
from campaign_svc.models.tenants import TenantSettings

__all__ = [
    "ERASED_MEMBERS",
    "IDEMPOTENCY_KEYS",
    "MESSAGING",
    "AutomationDeferral",
    "AutomationRule",
    "AutomationRun",
    "Base",
    "Campaign",
    "CampaignStock",
    "Checkin",
    "CheckinMilestone",
    "Coupon",
    "CouponTemplate",
    "Experiment",
    "ExperimentConversion",
    "ExperimentExposure",
    "ExperimentVariant",
    "Lottery",
    "LotteryDraw",
    "LotteryPrize",
    "Member",
    "MemberQuota",
    "Order",
    "ReferralReward",
    "Refund",
    "Seat",
    "Team",
    "TenantSettings",
]
