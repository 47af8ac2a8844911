"""analytics-svc tables: its own projections of the event stream."""

from analytics_svc.communities.models import CommunityMembership, CommunityState
from analytics_svc.db import ERASED_MEMBERS, IDEMPOTENCY_KEYS, MESSAGING, Base
from analytics_svc.ingestion.models import ContentFact, MemberCommunity, MemberFacts, OrderFact
from analytics_svc.models.alerts import Alert, AlertRule
from analytics_svc.models.daily import ALL, DailyCount, DailyMembers
from analytics_svc.models.referrals import CampaignRun, InvitationFact
from analytics_svc.scoring.models import TenantModel

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
