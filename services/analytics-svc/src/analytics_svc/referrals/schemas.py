"""Response models of what referrals brought."""

import uuid
from datetime import datetime

from pydantic import Field

from qunyun_shared.schemas import Read


class InviterRead(Read):
    member_id: uuid.UUID
    invites_sent: int
    joins: int = Field(description="Members who joined the brand for the first time by their invitation.")
    first_orders: int = Field(description="Of those, the ones who have ordered since.")


class ReachRead(Read):
    invites_sent: int
    referred_joins: int
    members_before: int = Field(description="Members there when the span began.")
    k_factor: float | None = Field(description="referred_joins / members_before.")


class CommunityReachRead(Read):
    community_id: uuid.UUID
    reach: ReachRead = Field(description="Joins here are members new to the community.")


class CampaignReachRead(Read):
    campaign_id: uuid.UUID
    name: str | None
    start: datetime = Field(description="The span measured: the campaign's run within the range asked for.")
    end: datetime
    reach: ReachRead


class ReferralsRead(Read):
    inviters: list[InviterRead]
    invites_sent: int
    referred_joins: int
    tree_depth: int
    k_factor: float | None = Field(description="Referred joins in the range per member at its start.")
    communities: list[CommunityReachRead]
    campaigns: list[CampaignReachRead] = Field(description="Referral campaigns that ran in the range.")
