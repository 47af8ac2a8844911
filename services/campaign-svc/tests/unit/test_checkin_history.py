"""Check-in history: one check-in per member and local day (the same day again is unchanged), streaks as
live check-ins would have made them (later live ones' included), milestones kept as reached without
rewards, events marked imported, and rows outside the campaign's dates or past its days refused alone."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.campaigns import service as campaigns
from campaign_svc.campaigns.models import Campaign
from campaign_svc.campaigns.schemas import CampaignCreate
from campaign_svc.checkins import history
from campaign_svc.checkins import service as checkins
from campaign_svc.checkins.api import router
from campaign_svc.checkins.models import Checkin
from campaign_svc.db import ERASED_MEMBERS, MESSAGING
from campaign_svc.exceptions import CampaignNotFound
from campaign_svc.models import Base
from campaign_svc.tenants import service as tenants
from campaign_svc.tenants.schemas import TenantSettingsBody
from qunyun_shared.erasure import remember_erased
from qunyun_shared.events.kafka_binding import from_kafka
from qunyun_shared.history import HistoryBatchRead
from qunyun_shared.identity import Identity
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import in_memory_session_fixture, routes_client

from .known_members import known_member

pytestmark = pytest.mark.unit

OUTBOX = Outbox(table=MESSAGING.outbox, source="campaign-svc", topic_prefix="qunyun")
TENANT = "t"
ZONE = ZoneInfo("America/Los_Angeles")
START = datetime(2026, 3, 1, 9, 0, tzinfo=ZONE)
MILESTONES = [{"day": 2, "reward": {"points": 10}}, {"day": 4, "reward": {"points": 40}}]

session = in_memory_session_fixture(Base.metadata)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A time in the tenant's zone on March `day`."""
    return datetime(2026, 3, day, hour, minute, tzinfo=ZONE)


async def challenge(session: AsyncSession, days: int = 21, **window: datetime) -> Campaign:
    await tenants.update_settings(session=session, tenant_id=TENANT, body=TenantSettingsBody(timezone=ZONE.key))
    campaign_in = CampaignCreate(
        kind="checkin",
        name="21天打卡",
        starts_at=START,
        settings={"days": days, "milestones": [m for m in MILESTONES if m["day"] <= days]},
        **window,
    )
    return await campaigns.create_campaign(
        session=session, outbox=OUTBOX, tenant_id=TENANT, campaign_in=campaign_in, now=START
    )


def row(member_id: uuid.UUID, at: datetime) -> dict[str, Any]:
    return {"member_id": str(member_id), "checked_in_at": at.isoformat()}


async def import_rows(session: AsyncSession, campaign: Campaign, *rows: dict[str, Any]) -> HistoryBatchRead:
    return await history.import_checkins(
        session=session, outbox=OUTBOX, tenant_id=TENANT, campaign_id=campaign.id, rows=rows
    )


async def announced(session: AsyncSession) -> list[Any]:
    """The envelopes of the check-ins staged, as the bus carries them."""
    table = MESSAGING.outbox
    rows = (await session.execute(select(table).order_by(table.c.id))).all()
    envelopes = [from_kafka(r.value, [(name, value.encode()) for name, value in r.headers]) for r in rows]
    return [e for e in envelopes if e.type in ("checkin.recorded", "reward.granted", "coupon.issued")]


async def streaks(session: AsyncSession, campaign: Campaign, member_id: uuid.UUID) -> list[tuple[int, int]]:
    found = await session.scalars(
        select(Checkin).where(Checkin.campaign_id == campaign.id, Checkin.member_id == member_id).order_by(Checkin.day)
    )
    return [(c.day.day, c.streak) for c in found]


async def test_history_makes_the_streaks_live_check_ins_would_and_earns_no_reward(session: AsyncSession) -> None:
    campaign, member_id = await challenge(session), await known_member(session, TENANT)
    # 23:30 on the 2nd and 00:30 on the 3rd are one UTC day, but two local days; the 5th is missed.
    batch = await import_rows(
        session,
        campaign,
        row(member_id, local(4, 7)),
        row(member_id, local(2, 23, 30)),
        row(member_id, local(3, 0, 30)),
        row(member_id, local(6, 7)),
    )
    assert (batch.created, batch.failed) == (4, 0)
    assert await streaks(session, campaign, member_id) == [(2, 1), (3, 2), (4, 3), (6, 1)]
    recorded = await announced(session)
    assert all(e.imported for e in recorded) and {e.type for e in recorded} == {"checkin.recorded"}
    assert [(e.data.day, e.data.streak) for e in recorded] == [
        (date(2026, 3, d), s) for d, s in [(2, 1), (3, 2), (4, 3), (6, 1)]
    ]
    progress = await checkins.progress_of(
        session=session, tenant_id=TENANT, campaign_id=campaign.id, member_id=member_id, now=local(6, 8)
    )
    # Day 2's milestone was reached in history: kept as reached, never rewarded.
    assert [(m.day, m.reached_on, m.granted) for m in progress.milestones] == [(2, date(2026, 3, 3), None)]
    assert progress.milestones[0].grant_error == history.NO_REWARD
    assert (progress.current_streak, progress.longest_streak) == (1, 3)


async def test_history_before_live_check_ins_carries_their_streaks_and_live_ones_go_on(session: AsyncSession) -> None:
    campaign, member_id = await challenge(session), await known_member(session, TENANT)
    live = await checkins.check_in(
        session=session, outbox=OUTBOX, tenant_id=TENANT, campaign_id=campaign.id, member_id=member_id, now=local(5, 7)
    )
    assert live.streak == 1
    await import_rows(session, campaign, row(member_id, local(3, 7)), row(member_id, local(4, 7)))
    assert await streaks(session, campaign, member_id) == [(3, 1), (4, 2), (5, 3)]
    # The live check-in on the 6th goes on from the streak history made, and its milestone (4) is its reward.
    after = await checkins.check_in(
        session=session, outbox=OUTBOX, tenant_id=TENANT, campaign_id=campaign.id, member_id=member_id, now=local(6, 7)
    )
    assert (after.streak, [(m.day, m.granted is not None) for m in after.milestones]) == (4, [(4, True)])
    rewards = [(e.data.points, e.imported) for e in await announced(session) if e.type == "reward.granted"]
    assert rewards == [(40, False)]  # the 2-day milestone history reached earned nothing


async def test_the_same_day_again_is_unchanged(session: AsyncSession) -> None:
    campaign, member_id = await challenge(session), await known_member(session, TENANT)
    [first] = (await import_rows(session, campaign, row(member_id, local(2, 7)))).results
    events = len(await announced(session))
    again = await import_rows(
        session, campaign, row(member_id, local(2, 7)), row(member_id, local(2, 21)), row(member_id, local(3, 7))
    )
    assert [(r.outcome, r.id) for r in again.results[:2]] == [("unchanged", first.id), ("unchanged", first.id)]
    assert again.results[2].outcome == "created"
    assert len(await announced(session)) == events + 1
    assert await streaks(session, campaign, member_id) == [(2, 1), (3, 2)]


async def test_rows_outside_the_campaign_past_its_days_or_of_erased_members_fail_alone(session: AsyncSession) -> None:
    campaign = await challenge(session, days=2, ends_at=local(20, 0))
    member_id, erased, foreign = (
        await known_member(session, TENANT),
        await known_member(session, TENANT),
        await known_member(session, "other-tenant"),
    )
    await remember_erased(session, ERASED_MEMBERS, [(TENANT, erased)])
    unheard_of = uuid.uuid4()  # not refused for that alone: their join may be on its way
    batch = await import_rows(
        session,
        campaign,
        row(member_id, START - timedelta(minutes=1)),
        row(member_id, local(20, 0)),
        row(member_id, local(2, 7)),
        row(member_id, local(3, 7)),
        row(member_id, local(4, 7)),
        row(erased, local(2, 7)),
        row(foreign, local(2, 7)),
        row(unheard_of, local(2, 7)),
        row(member_id, datetime.now(UTC) + timedelta(hours=1)),
        {"member_id": str(member_id), "checked_in_at": "2026-03-02T07:00:00"},
    )
    outcomes = [(r.outcome, r.problems[0].field if r.problems else None) for r in batch.results]
    assert outcomes == [
        ("failed", "checked_in_at"),
        ("failed", "checked_in_at"),
        ("created", None),
        ("created", None),
        ("failed", "checked_in_at"),  # the challenge has 2 days
        ("failed", "member_id"),
        ("failed", "member_id"),
        ("created", None),
        ("failed", "checked_in_at"),
        ("failed", "checked_in_at"),
    ]
    assert "outside" in batch.results[0].problems[0].message
    assert await session.scalar(select(func.count()).select_from(Checkin)) == 3
    assert len(await announced(session)) == 3


async def test_only_the_tenants_check_in_campaigns_take_history(session: AsyncSession) -> None:
    member_id = await known_member(session, TENANT)
    coupon_campaign = await campaigns.create_campaign(
        session=session,
        outbox=OUTBOX,
        tenant_id=TENANT,
        campaign_in=CampaignCreate(kind="coupon", name="券", starts_at=START),
        now=START,
    )
    with pytest.raises(CampaignNotFound):
        await import_rows(session, coupon_campaign, row(member_id, local(2, 7)))
    with pytest.raises(CampaignNotFound):
        await history.import_checkins(
            session=session, outbox=OUTBOX, tenant_id="other", campaign_id=(await challenge(session)).id, rows=[]
        )


@pytest_asyncio.fixture
async def client(session: AsyncSession) -> AsyncIterator[httpx.AsyncClient]:
    async with routes_client(session, [router], lambda: Identity(tenant_id=TENANT, principal="test"), OUTBOX) as http:
        yield http


async def test_the_route_answers_each_row(session: AsyncSession, client: httpx.AsyncClient) -> None:
    campaign, member_id = await challenge(session), await known_member(session, TENANT)
    path = f"/campaigns/{campaign.id}/checkins/history"
    answer = await client.post(path, json={"checkins": [row(member_id, local(2, 7)), {"member_id": "nope"}]})
    assert answer.status_code == 200, answer.text
    assert [r["outcome"] for r in answer.json()["results"]] == ["created", "failed"]
    progress = (await client.get(f"/campaigns/{campaign.id}/checkins/{member_id}")).json()
    assert progress["checked_in_days"] == ["2026-03-02"]
    assert (await client.post(path, json={"checkins": []})).status_code == 422
    missing = await client.post(
        f"/campaigns/{uuid.uuid4()}/checkins/history", json={"checkins": [row(member_id, START)]}
    )
    assert (missing.status_code, missing.headers["content-type"]) == (404, "application/problem+json")
