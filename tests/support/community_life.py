"""A month in the life of a tenant's communities, as events: for tests and benchmarks that need many
realistic events whose every member's events come in that member's order."""

import random
import uuid
from datetime import date, datetime, timedelta

from analytics_svc.activity import REPORT_ZONE
from qunyun_shared.events import EventPayload
from qunyun_shared.events.campaign import (
    CampaignEndedV1,
    CampaignStartedV1,
    CheckinRecordedV1,
    OrderPaidV1,
    OrderPlacedV1,
    OrderRefundedV1,
)
from qunyun_shared.events.content import ContentEngagedV1, ContentPostedV1, SurveyAnsweredV1
from qunyun_shared.events.member import MemberInvitedV1, MemberJoinedV1, MemberLeftV1

START = date(2026, 2, 2)
DAYS = 28
COMMUNITIES = [uuid.UUID(int=n) for n in (1, 2, 3)]


def at(day: int, minute: int) -> datetime:
    moment = datetime(START.year, START.month, START.day, 8, tzinfo=REPORT_ZONE)
    return moment + timedelta(days=day, minutes=minute)


def community_life(rng: random.Random, members: int = 120) -> list[EventPayload]:
    """A month of three communities: joins (some invited, in a referral campaign's fortnight or not), posts,
    reads and likes, check-ins, orders paid and refunded, NPS answers, and leaves, each member's events in
    their order."""
    referral_campaign = uuid.uuid4()
    events: list[EventPayload] = [
        CampaignStartedV1(campaign_id=referral_campaign, kind="referral", name="拉新", started_at=at(7, 0)),
        CampaignEndedV1(campaign_id=referral_campaign, kind="referral", reason="schedule", ended_at=at(21, 0)),
    ]
    posts = [uuid.uuid4() for _ in range(12)]
    for n, content_id in enumerate(posts):
        events.append(
            ContentPostedV1(
                content_id=content_id,
                community_id=COMMUNITIES[n % 3],
                content_type="activity" if n % 4 == 0 else "knowledge",
                source="PGC",
                posted_at=at(n, 0),
            )
        )
    joined: list[uuid.UUID] = []
    for n in range(members):
        member_id, day = uuid.uuid4(), rng.randrange(DAYS - 7)
        community = rng.choice(COMMUNITIES)
        inviter = rng.choice(joined) if joined and rng.random() < 0.3 else None
        if inviter is not None:
            sent = at(day, n) - timedelta(hours=1)
            invited = MemberInvitedV1(
                invitation_id=uuid.uuid4(), member_id=inviter, community_id=community, channel="friend", sent_at=sent
            )
            events.append(invited)
        events.append(
            MemberJoinedV1(
                member_id=member_id, community_id=community, channel="qr", inviter_id=inviter, joined_at=at(day, n)
            )
        )
        joined.append(member_id)
        for later in sorted(rng.sample(range(day, DAYS), k=rng.randrange(0, 6))):
            content_id = rng.randrange(len(posts))
            events.append(
                ContentEngagedV1(
                    content_id=posts[content_id],
                    member_id=member_id,
                    community_id=COMMUNITIES[content_id % 3],
                    content_type="activity" if content_id % 4 == 0 else "knowledge",
                    action=rng.choice(["view", "view", "like", "comment", "share"]),
                    occurred_at=at(later, n + 1),
                )
            )
        if rng.random() < 0.3:
            events.append(
                CheckinRecordedV1(
                    campaign_id=uuid.UUID(int=9), member_id=member_id, day=START + timedelta(day + 1), streak=1
                )
            )
        for order_day in sorted(rng.sample(range(day, DAYS), k=rng.choice([0, 0, 1, 1, 2, 3]))):
            order_id, amount = uuid.uuid4(), rng.randrange(1_000, 50_000)
            events.append(
                OrderPlacedV1(
                    order_id=order_id,
                    member_id=member_id,
                    community_id=community,
                    amount_fen=amount,
                    placed_at=at(order_day, n + 2),
                )
            )
            events.append(
                OrderPaidV1(order_id=order_id, member_id=member_id, amount_fen=amount, paid_at=at(order_day, n + 3))
            )
            if rng.random() < 0.1:
                events.append(
                    OrderRefundedV1(
                        order_id=order_id, member_id=member_id, amount_fen=amount // 2, refunded_at=at(order_day + 1, n)
                    )
                )
        if rng.random() < 0.4:
            events.append(
                SurveyAnsweredV1(
                    survey_id=uuid.UUID(int=8), member_id=member_id, community_id=community, nps=rng.randrange(11)
                )
            )
        if rng.random() < 0.15:
            events.append(
                MemberLeftV1(member_id=member_id, community_id=community, reason="left", left_at=at(DAYS - 1, n))
            )
    return events
