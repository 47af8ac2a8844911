"""analytics-svc tables: its own projections of the event stream."""

from analytics_svc.models.alerts import Alert, AlertRule
from analytics_svc.models.base import ERASED_MEMBERS, IDEMPOTENCY_KEYS, MESSAGING, Base, CommunityMembership
from analytics_svc.models.daily import ALL, DailyCount, DailyMembers
from analytics_svc.models.facts import ContentFact, MemberCommunity, MemberFacts, OrderFact
from analytics_svc.models.referrals import CampaignRun, InvitationFact
from analytics_svc.models.tenants import CommunityState, TenantModel

__all__ = [
    "ALL",
    "ERASED_MEMBERS",
    "IDEMPOTENCY_KEYS",
    "MESSAGING",
    "Alert",
    "AlertRule",
    "Base",
    "CampaignRun",
    "CommunityMembership",
    "CommunityState",
    "ContentFact",
    "DailyCount",
    "DailyMembers",
    "InvitationFact",
    "MemberCommunity",
    "MemberFacts",
    "OrderFact",
    "TenantModel",
]
