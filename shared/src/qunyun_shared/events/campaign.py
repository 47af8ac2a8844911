"""Events published by campaign-svc. Amounts are integer fen."""

from datetime import date, datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from qunyun_shared.events.base import EventPayload, event
from qunyun_shared.events.integers import Count, Fen, PositiveCount


class Attribution(BaseModel):
    """What an order is credited to."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    campaign_id: UUID | None = None
    coupon_id: UUID | None = None
    content_id: UUID | None = None
    inviter_id: UUID | None = None


@event("order.placed", 1, producer="campaign-svc", summary='A member placed an order ("ordered").')
class OrderPlacedV1(EventPayload):
    order_id: UUID
    member_id: UUID
    community_id: UUID | None = None
    amount_fen: Fen
    product_ids: list[str] = []
    attribution: Attribution = Attribution()
    placed_at: datetime


@event("order.paid", 1, producer="campaign-svc", summary="An order was paid.")
class OrderPaidV1(EventPayload):
    order_id: UUID
    member_id: UUID
    amount_fen: Fen
    paid_at: datetime


@event("order.refunded", 1, producer="campaign-svc", summary="An order was refunded, in full or in part.")
class OrderRefundedV1(EventPayload):
    order_id: UUID
    member_id: UUID
    amount_fen: Fen
    refunded_at: datetime


@event("coupon.issued", 1, producer="campaign-svc", summary="A coupon was issued to a member.")
class CouponIssuedV1(EventPayload):
    coupon_id: UUID
    template_id: UUID
    member_id: UUID
    campaign_id: UUID | None = None
    expires_at: datetime


@event("coupon.redeemed", 1, producer="campaign-svc", summary="A coupon was redeemed on an order.")
class CouponRedeemedV1(EventPayload):
    coupon_id: UUID
    member_id: UUID
    order_id: UUID
    discount_fen: Fen


@event("campaign.started", 1, producer="campaign-svc", summary="A campaign began running.")
class CampaignStartedV1(EventPayload):
    subject_field = "campaign_id"
    campaign_id: UUID
    kind: str
    name: str
    # From when it counts as running (its schedule's start); absent from events of before it was added.
    started_at: datetime | None = None


@event("campaign.ended", 1, producer="campaign-svc", summary="A campaign ended (schedule, budget spent or stopped).")
class CampaignEndedV1(EventPayload):
    subject_field = "campaign_id"
    campaign_id: UUID
    kind: str
    reason: str
    ended_at: datetime | None = None


@event("groupbuy.completed", 1, producer="campaign-svc", summary="A group-buy team reached its size in time.")
class GroupbuyCompletedV1(EventPayload):
    subject_field = "team_id"
    team_id: UUID
    campaign_id: UUID
    member_ids: list[UUID]


@event("checkin.recorded", 1, producer="campaign-svc", summary="A member checked in on a challenge day.")
class CheckinRecordedV1(EventPayload):
    campaign_id: UUID
    member_id: UUID
    day: date
    streak: PositiveCount


@event(
    "reward.granted",
    1,
    producer="campaign-svc",
    summary="A campaign granted a member points or a tag (a check-in milestone, a referral, a rule); member-svc applies it.",
    public=False,
)
class RewardGrantedV1(EventPayload):
    # The same cause always yields the same reward id, so member-svc applies a redelivered grant once.
    reward_id: UUID
    member_id: UUID
    campaign_id: UUID | None = None
    points: Count = 0
    tag: str | None = None
    reason: str


@event(
    "merchant.notified",
    1,
    producer="campaign-svc",
    summary="An automation rule asked for the merchant to hear about a member; partners receive it by webhook.",
)
class MerchantNotifiedV1(EventPayload):
    rule_id: UUID
    member_id: UUID
    trigger: str
    message: str
