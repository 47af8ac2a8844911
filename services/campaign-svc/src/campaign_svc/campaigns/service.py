"""Campaigns of every kind: created, started and ended on their schedule, stopped by hand, reported on."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.campaigns.models import Campaign
from campaign_svc.campaigns.schemas import CampaignCreate, CampaignReport
from campaign_svc.exceptions import CampaignNotFound, CampaignNotRunning, InvalidCampaign
from campaign_svc.flash_sales import stock
from campaign_svc.orders.models import Order
from qunyun_shared.events.campaign import CampaignEndedV1, CampaignStartedV1
from qunyun_shared.outbox import Outbox

_SWEEP_BATCH = 100


async def create_campaign(
    *, session: AsyncSession, outbox: Outbox, tenant_id: str, campaign_in: CampaignCreate, now: datetime
) -> Campaign:
    """A campaign that starts now (or has no start) is running at once and says so."""
    starts_at = campaign_in.starts_at or now
    if campaign_in.ends_at is not None and campaign_in.ends_at <= now:
        raise InvalidCampaign("ends_at is in the past.", field="ends_at")
    campaign = Campaign(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        kind=campaign_in.kind,
        name=campaign_in.name,
        community_id=campaign_in.community_id,
        status="scheduled",
        starts_at=starts_at,
        ends_at=campaign_in.ends_at,
        budget_fen=campaign_in.budget_fen,
        settings=campaign_in.settings,
        created_at=now,
    )
    session.add(campaign)
    if campaign.kind == "flash_sale":
        sale = campaign.settings
        session.add_all(stock.slots(campaign.id, sale["stock"], sale["per_member_limit"]))
    await session.flush()
    if starts_at <= now:
        await _start(session, outbox, campaign)
    return campaign


async def get_campaign(
    *, session: AsyncSession, tenant_id: str, campaign_id: uuid.UUID, kind: str | None = None
) -> Campaign:
    """One of the tenant's campaigns, of `kind` if given; another tenant's is not found."""
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None or campaign.tenant_id != tenant_id or (kind is not None and campaign.kind != kind):
        what = f"{kind.replace('_', ' ')} campaign" if kind else "campaign"
        raise CampaignNotFound(f"No {what} {campaign_id}.")
    return campaign


def refuse_own_checkout(campaign: Campaign) -> None:
    """Flash sales and group-buys sell through their own endpoints, which take their stock and seats;
    an order or a coupon credited to one otherwise would give back, on cancel, what it never took."""
    if campaign.kind in ("flash_sale", "group_buy"):
        raise InvalidCampaign(
            f"Campaign {campaign.id} is a {campaign.kind.replace('_', ' ')}: buy through its own endpoint.",
            field="campaign_id",
        )


def is_running(campaign: Campaign, now: datetime) -> bool:
    """By the clock, not only by status: the sweep that flips statuses may lag a few seconds."""
    return (
        campaign.status != "ended"
        and campaign.starts_at <= now
        and (campaign.ends_at is None or now < campaign.ends_at)
    )


async def running_campaign(
    *, session: AsyncSession, tenant_id: str, campaign_id: uuid.UUID, now: datetime, kind: str | None = None
) -> Campaign:
    """One of the tenant's campaigns that is running at `now`, or why it is not."""
    campaign = await get_campaign(session=session, tenant_id=tenant_id, campaign_id=campaign_id, kind=kind)
    if not is_running(campaign, now):
        state = (
            "has ended"
            if campaign.status == "ended" or (campaign.ends_at and campaign.ends_at <= now)
            else (f"starts at {campaign.starts_at.isoformat()}")
        )
        raise CampaignNotRunning(f"Campaign {campaign_id} {state}.", campaign_id=str(campaign_id))
    return campaign


async def running_of_kind(*, session: AsyncSession, tenant_id: str, kind: str, now: datetime) -> list[Campaign]:
    """The tenant's campaigns of `kind` running at `now`, oldest first."""
    candidates = await session.scalars(
        select(Campaign)
        .where(Campaign.tenant_id == tenant_id, Campaign.kind == kind, Campaign.status != "ended")
        .order_by(Campaign.starts_at, Campaign.id)
    )
    return [c for c in candidates if is_running(c, now)]


async def list_campaigns(
    *,
    session: AsyncSession,
    tenant_id: str,
    kind: str | None,
    status: str | None,
    limit: int,
    community_id: uuid.UUID | None = None,
) -> list[Campaign]:
    """Newest first; for a community, those run in it and those run in every community."""
    query = select(Campaign).where(Campaign.tenant_id == tenant_id)
    if kind:
        query = query.where(Campaign.kind == kind)
    if status:
        query = query.where(Campaign.status == status)
    if community_id is not None:
        query = query.where(or_(Campaign.community_id == community_id, Campaign.community_id.is_(None)))
    return list(await session.scalars(query.order_by(Campaign.created_at.desc(), Campaign.id).limit(limit)))


async def stop(*, session: AsyncSession, outbox: Outbox, tenant_id: str, campaign_id: uuid.UUID) -> Campaign:
    """Ends a campaign now; stopping an ended one changes nothing."""
    campaign = await get_campaign(session=session, tenant_id=tenant_id, campaign_id=campaign_id)
    if campaign.status != "ended":
        await end(session=session, outbox=outbox, campaign=campaign, reason="stopped", now=datetime.now(UTC))
    return campaign


async def end(*, session: AsyncSession, outbox: Outbox, campaign: Campaign, reason: str, now: datetime) -> None:
    """Ends a campaign for `reason` and says so."""
    campaign.status, campaign.ended_reason = "ended", reason
    if campaign.ends_at is None or campaign.ends_at > now:
        campaign.ends_at = now
    ended = CampaignEndedV1(campaign_id=campaign.id, kind=campaign.kind, reason=reason, ended_at=campaign.ends_at)
    await outbox.add(session, tenant_id=campaign.tenant_id, payloads=[ended])


async def _start(session: AsyncSession, outbox: Outbox, campaign: Campaign) -> None:
    campaign.status = "running"
    started = CampaignStartedV1(
        campaign_id=campaign.id, kind=campaign.kind, name=campaign.name, started_at=campaign.starts_at
    )
    await outbox.add(session, tenant_id=campaign.tenant_id, payloads=[started])


async def advance(*, session: AsyncSession, outbox: Outbox, now: datetime) -> int:
    """Starts campaigns whose time has come and ends those whose time is up; each replica may run it,
    the row locks it skips keep any campaign from being started or ended twice."""
    due = await session.scalars(
        select(Campaign)
        .where(
            or_(
                (Campaign.status == "scheduled") & (Campaign.starts_at <= now),
                (Campaign.status != "ended") & (Campaign.ends_at <= now),
            )
        )
        .order_by(Campaign.starts_at)
        .limit(_SWEEP_BATCH)
        .with_for_update(skip_locked=True)
    )
    changed = 0
    for campaign in due:
        if campaign.status == "scheduled":
            await _start(session, outbox, campaign)
        if campaign.ends_at is not None and campaign.ends_at <= now:
            await end(session=session, outbox=outbox, campaign=campaign, reason="schedule", now=now)
        changed += 1
    return changed


async def report_of(*, session: AsyncSession, tenant_id: str, campaign_id: uuid.UUID) -> CampaignReport:
    """The campaign's budget, cost, attributed GMV and ROI."""
    campaign = await get_campaign(session=session, tenant_id=tenant_id, campaign_id=campaign_id)
    credited = Order.campaign_id == campaign.id
    orders, gmv = (
        await session.execute(
            select(
                func.count(Order.id),
                func.coalesce(func.sum(Order.amount_fen - Order.refunded_fen), 0),
            ).where(credited, Order.paid_at.is_not(None))
        )
    ).one()
    cost = campaign.spent_fen
    return CampaignReport(
        campaign_id=campaign.id,
        budget_fen=campaign.budget_fen,
        committed_fen=campaign.committed_fen,
        cost_fen=cost,
        remaining_fen=None if campaign.budget_fen is None else campaign.budget_fen - campaign.committed_fen,
        orders=orders,
        gmv_fen=gmv,
        roi=round((gmv - cost) / cost, 4) if cost else None,
    )
