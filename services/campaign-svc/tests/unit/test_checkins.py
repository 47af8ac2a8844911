"""Check-in challenges: local days, streaks, milestones rewarded once, one check-in a day, progress, erasure."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.campaigns import service as campaigns
from campaign_svc.campaigns.models import Campaign
from campaign_svc.campaigns.schemas import CampaignCreate
from campaign_svc.checkins import service as checkins
from campaign_svc.checkins.api import router
from campaign_svc.checkins.schemas import CheckinProgress, CheckinRead, CheckinSettings
from campaign_svc.coupons import service as coupons
from campaign_svc.coupons.schemas import CouponTemplateCreate
from campaign_svc.db import MESSAGING
from campaign_svc.exceptions import AlreadyCheckedIn, CampaignNotRunning, ChallengeCompleted, MemberNotFound
from campaign_svc.models import Base
from campaign_svc.tenants import service as tenants
from campaign_svc.tenants.schemas import TenantSettingsBody
from qunyun_shared.events.campaign import CheckinRecordedV1
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture, routes_client, staged_events

from .known_members import known_member, known_members

pytestmark = pytest.mark.unit

OUTBOX = Outbox(table=MESSAGING.outbox, source="campaign-svc", topic_prefix="qunyun")
TENANT = "t"
ZONE = ZoneInfo("America/Los_Angeles")
START = datetime(2026, 3, 1, 9, 0, tzinfo=ZONE)

session = in_memory_session_fixture(Base.metadata)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in the tenant's zone on March `day`."""
    return datetime(2026, 3, day, hour, minute, tzinfo=ZONE)


async def new_challenge(
    session: AsyncSession, milestones: list[dict[str, Any]] | None = None, days: int = 21, **window: datetime
) -> Campaign:
    await tenants.update_settings(session=session, tenant_id=TENANT, body=TenantSettingsBody(timezone=ZONE.key))
    campaign_in = CampaignCreate(
        kind="checkin",
        name="21天早起打卡",
        starts_at=START,
        settings={"days": days, "milestones": milestones or []},
        **window,
    )
    return await campaigns.create_campaign(
        session=session, outbox=OUTBOX, tenant_id=TENANT, campaign_in=campaign_in, now=START
    )


async def check_in(session: AsyncSession, campaign: Campaign, member_id: uuid.UUID, at: datetime) -> CheckinRead:
    return await checkins.check_in(
        session=session, outbox=OUTBOX, tenant_id=TENANT, campaign_id=campaign.id, member_id=member_id, now=at
    )


async def progress_of(session: AsyncSession, campaign: Campaign, member_id: uuid.UUID, at: datetime) -> CheckinProgress:
    return await checkins.progress_of(
        session=session, tenant_id=TENANT, campaign_id=campaign.id, member_id=member_id, now=at
    )


async def staged(session: AsyncSession, event_type: str) -> list[Any]:
    return [payload for type_, payload in await staged_events(session, MESSAGING.outbox) if type_ == event_type]


async def test_days_are_the_tenants_local_days(session: AsyncSession) -> None:
    campaign, member_id = await new_challenge(session), await known_member(session, TENANT)
    # 23:30 and 00:30 local are one UTC day apart from neither, but two local days.
    late, early = local(10, 23, 30), local(11, 0, 30)
    assert late.astimezone(UTC).date() == early.astimezone(UTC).date()
    first = await check_in(session, campaign, member_id, late)
    second = await check_in(session, campaign, member_id, early)
    assert (first.day, first.streak) == (date(2026, 3, 10), 1)
    assert (second.day, second.streak) == (date(2026, 3, 11), 2)
    assert await staged(session, "checkin.recorded") == [
        CheckinRecordedV1(campaign_id=campaign.id, member_id=member_id, day=date(2026, 3, 10), streak=1),
        CheckinRecordedV1(campaign_id=campaign.id, member_id=member_id, day=date(2026, 3, 11), streak=2),
    ]


async def test_a_second_check_in_on_the_same_local_day_is_refused(session: AsyncSession) -> None:
    campaign, member_id = await new_challenge(session), await known_member(session, TENANT)
    # 15:00 and 18:00 local fall on two UTC days, but on one local day.
    afternoon, evening = local(10, 15), local(10, 18)
    assert afternoon.astimezone(UTC).date() != evening.astimezone(UTC).date()
    await check_in(session, campaign, member_id, afternoon)
    with pytest.raises(AlreadyCheckedIn):
        await check_in(session, campaign, member_id, evening)
    assert len(await staged(session, "checkin.recorded")) == 1


async def test_concurrent_check_ins_record_one(session: AsyncSession, monkeypatch: pytest.MonkeyPatch) -> None:
    campaign, member_id = await new_challenge(session), await known_member(session, TENANT)
    await check_in(session, campaign, member_id, local(10, 8))

    async def nothing_seen_yet(*_: Any) -> list[Any]:
        return []  # as a check-in racing the first would have read

    monkeypatch.setattr(checkins, "_history", nothing_seen_yet)
    with pytest.raises(AlreadyCheckedIn):
        await check_in(session, campaign, member_id, local(10, 9))


async def test_a_missed_day_restarts_the_streak(session: AsyncSession) -> None:
    campaign, member_id = await new_challenge(session), await known_member(session, TENANT)
    streaks = [(await check_in(session, campaign, member_id, local(day, 7))).streak for day in (2, 3, 4, 6, 7)]
    progress = await progress_of(session, campaign, member_id, local(7, 20))
    assert streaks == [1, 2, 3, 1, 2]
    assert (progress.current_streak, progress.longest_streak, progress.completed) == (2, 3, False)
    assert progress.checked_in_days == [date(2026, 3, day) for day in (2, 3, 4, 6, 7)]
    assert (await progress_of(session, campaign, member_id, local(8, 23))).current_streak == 2
    assert (await progress_of(session, campaign, member_id, local(9, 0, 5))).current_streak == 0


async def test_a_milestone_is_rewarded_once(session: AsyncSession) -> None:
    host = await campaigns.create_campaign(
        session=session,
        outbox=OUTBOX,
        tenant_id=TENANT,
        campaign_in=CampaignCreate(kind="coupon", name="打卡奖励"),
        now=START,
    )
    template = await coupons.create_template(
        session=session,
        tenant_id=TENANT,
        template_in=CouponTemplateCreate(
            campaign_id=host.id, name="减5元", discount="amount_off", amount_off_fen=500, valid_days=7
        ),
        now=START,
    )
    milestones = [
        {"day": 2, "reward": {"points": 10}},
        {"day": 3, "reward": {"coupon_template_id": str(template.id)}},
    ]
    campaign, member_id = await new_challenge(session, milestones), await known_member(session, TENANT)
    reached = [(await check_in(session, campaign, member_id, local(day, 7))).milestones for day in (2, 3, 4, 6, 7, 8)]
    assert [[m.day for m in ms] for ms in reached] == [[], [2], [3], [], [], []]
    assert reached[1][0].granted is not None and reached[1][0].granted.points == 10
    assert reached[2][0].granted is not None and reached[2][0].granted.coupon_id is not None
    [points] = await staged(session, "reward.granted")
    [coupon] = await staged(session, "coupon.issued")
    assert (points.member_id, points.points, points.campaign_id) == (member_id, 10, campaign.id)
    assert (coupon.member_id, coupon.coupon_id) == (member_id, reached[2][0].granted.coupon_id)
    progress = await progress_of(session, campaign, member_id, local(8, 8))
    assert [(m.day, m.reached_on) for m in progress.milestones] == [(2, date(2026, 3, 3)), (3, date(2026, 3, 4))]


async def test_a_reward_that_cannot_be_issued_is_reported_and_the_check_in_stands(session: AsyncSession) -> None:
    host = await campaigns.create_campaign(
        session=session,
        outbox=OUTBOX,
        tenant_id=TENANT,
        campaign_in=CampaignCreate(kind="coupon", name="券"),
        now=START,
    )
    template = await coupons.create_template(
        session=session,
        tenant_id=TENANT,
        template_in=CouponTemplateCreate(
            campaign_id=host.id, name="减5元", discount="amount_off", amount_off_fen=500, valid_days=7
        ),
        now=START,
    )
    await campaigns.stop(session=session, outbox=OUTBOX, tenant_id=TENANT, campaign_id=host.id)
    campaign = await new_challenge(
        session, [{"day": 1, "reward": {"coupon_template_id": str(template.id), "points": 5}}]
    )
    member_id = await known_member(session, TENANT)
    checked = await check_in(session, campaign, member_id, local(10, 7))
    [milestone] = checked.milestones
    assert milestone.granted is None and milestone.grant_error is not None and "has ended" in milestone.grant_error
    assert len(await staged(session, "checkin.recorded")) == 1
    assert await staged(session, "coupon.issued") == [] and await staged(session, "reward.granted") == []
    progress = await progress_of(session, campaign, member_id, local(10, 8))
    assert progress.checked_in_days == [date(2026, 3, 10)] and progress.milestones[0].grant_error is not None


async def test_the_challenge_is_complete_after_its_days(session: AsyncSession) -> None:
    campaign, member_id = await new_challenge(session, days=2), await known_member(session, TENANT)
    await check_in(session, campaign, member_id, local(2, 7))
    await check_in(session, campaign, member_id, local(5, 7))
    with pytest.raises(ChallengeCompleted):
        await check_in(session, campaign, member_id, local(6, 7))
    assert (await progress_of(session, campaign, member_id, local(6, 8))).completed


async def test_no_check_in_outside_the_window(session: AsyncSession) -> None:
    campaign = await new_challenge(session, ends_at=local(5, 0))
    member_id = await known_member(session, TENANT)
    with pytest.raises(CampaignNotRunning):
        await check_in(session, campaign, member_id, START - timedelta(hours=1))
    with pytest.raises(CampaignNotRunning):
        await check_in(session, campaign, member_id, local(5, 7))


async def test_only_the_tenants_known_members_check_in(session: AsyncSession) -> None:
    campaign = await new_challenge(session)
    for member_id in (uuid.uuid4(), await known_member(session, "other-tenant")):
        with pytest.raises(MemberNotFound):
            await check_in(session, campaign, member_id, local(2, 7))
    assert await staged(session, "checkin.recorded") == []


async def test_erasure_deletes_the_members_check_ins(session: AsyncSession) -> None:
    campaign = await new_challenge(session, [{"day": 1, "reward": {"points": 1}}])
    erased, kept = await known_members(session, TENANT, 2)
    await check_in(session, campaign, erased, local(2, 7))
    await check_in(session, campaign, kept, local(2, 7))
    await checkins.forget_member(session=session, tenant_id=TENANT, member_id=erased)
    gone = await progress_of(session, campaign, erased, local(2, 8))
    assert (gone.checked_in_days, gone.milestones) == ([], [])
    assert (await progress_of(session, campaign, kept, local(2, 8))).checked_in_days


@pytest_asyncio.fixture
async def client(session: AsyncSession) -> AsyncIterator[httpx.AsyncClient]:
    async with routes_client(session, [router], lambda: Identity(tenant_id=TENANT, principal="test"), OUTBOX) as http:
        yield http


async def test_the_routes_check_in_once_a_day_and_show_progress(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    # The routes check in now: a challenge that started yesterday is running.
    await tenants.update_settings(session=session, tenant_id=TENANT, body=TenantSettingsBody(timezone=ZONE.key))
    yesterday = datetime.now(UTC) - timedelta(days=1)
    campaign_in = CampaignCreate(kind="checkin", name="打卡", starts_at=yesterday, settings={"days": 7})
    campaign = await campaigns.create_campaign(
        session=session, outbox=OUTBOX, tenant_id=TENANT, campaign_in=campaign_in, now=yesterday
    )
    path, member_id = f"/campaigns/{campaign.id}/checkins", str(await known_member(session, TENANT))
    checked = await client.post(path, json={"member_id": member_id})
    assert checked.status_code == 201, checked.text
    assert checked.json()["streak"] == 1
    again = await client.post(path, json={"member_id": member_id})
    assert (again.status_code, again.headers["content-type"]) == (409, "application/problem+json")
    assert again.json()["type"].endswith("/already-checked-in")
    assert (await client.post(path, json={"member_id": "nope"})).status_code == 422
    progress = (await client.get(f"{path}/{member_id}")).json()
    assert (progress["days"], progress["current_streak"], len(progress["checked_in_days"])) == (7, 1, 1)
    assert (await client.get(f"/campaigns/{uuid.uuid4()}/checkins/{member_id}")).status_code == 404


def test_milestones_must_fit_the_challenge() -> None:
    with pytest.raises(ValidationError, match="within the challenge"):
        CheckinSettings.model_validate({"days": 7, "milestones": [{"day": 8, "reward": {"points": 1}}]})
    with pytest.raises(ValidationError, match="unique"):
        CheckinSettings.model_validate({"milestones": [{"day": 3, "reward": {"points": 1}}] * 2})
    with pytest.raises(ValidationError):
        CampaignCreate(kind="checkin", name="x", settings={"days": 0})
    assert CheckinSettings.model_validate({}).days == 21
