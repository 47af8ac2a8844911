"""Group-buys (拼团): a member opens a team at the campaign's price, others join it; a full team completes,
a team still short when its time is up expires and its orders are cancelled, or refunded if paid."""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.campaigns import service as campaigns
from campaign_svc.exceptions import AlreadyInTeam, TeamClosed, TeamNotFound
from campaign_svc.group_buys.models import Seat, Team
from campaign_svc.group_buys.schemas import GroupBuySettings
from campaign_svc.members import service as members
from campaign_svc.orders import service as orders
from campaign_svc.orders.models import Order
from campaign_svc.orders.schemas import OrderItem
from qunyun_shared.events.campaign import GroupbuyCompletedV1
from qunyun_shared.outbox import Outbox

_EXPIRY_BATCH = 100


async def open_team(
    *,
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    campaign_id: uuid.UUID,
    member_id: uuid.UUID,
    now: datetime,
) -> tuple[Team, Order]:
    """Opens a team around its leader, whose seat is the team's first order."""
    campaign = await campaigns.running_campaign(
        session=session, tenant_id=tenant_id, campaign_id=campaign_id, now=now, kind="group_buy"
    )
    terms = GroupBuySettings.model_validate(campaign.settings)
    await members.get_member(session=session, tenant_id=tenant_id, member_id=member_id)
    team = Team(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        campaign_id=campaign.id,
        leader_id=member_id,
        status="forming",
        size=terms.team_size,
        joined=1,
        opened_at=now,
        expires_at=now + timedelta(minutes=terms.time_limit_minutes),
    )
    session.add(team)
    await session.flush()
    order = await _take_seat(session, outbox, team, terms, member_id, now)
    return team, order


async def join_team(
    *,
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    campaign_id: uuid.UUID,
    team_id: uuid.UUID,
    member_id: uuid.UUID,
    now: datetime,
) -> tuple[Team, Order]:
    """Takes a seat if one is free and the team is still forming; the last seat completes the team."""
    team = await get_team(session=session, tenant_id=tenant_id, campaign_id=campaign_id, team_id=team_id)
    campaign = await campaigns.running_campaign(
        session=session, tenant_id=tenant_id, campaign_id=team.campaign_id, now=now, kind="group_buy"
    )
    terms = GroupBuySettings.model_validate(campaign.settings)
    await members.get_member(session=session, tenant_id=tenant_id, member_id=member_id)
    if await session.get(Seat, (team.id, member_id)) is not None:
        raise AlreadyInTeam(f"Member {member_id} is in team {team.id} already.")
    seated = await session.execute(
        update(Team)
        .where(Team.id == team.id, Team.status == "forming", Team.joined < Team.size, Team.expires_at > now)
        .values(joined=Team.joined + 1)
        .returning(Team.joined)
    )
    joined = seated.scalar()
    if joined is None:
        raise TeamClosed(f"Team {team_id} is not taking members (full, completed or expired).")
    order = await _take_seat(session, outbox, team, terms, member_id, now)
    await session.refresh(team)
    if joined == team.size:
        team.status, team.closed_at = "completed", now
        member_ids = list(await session.scalars(select(Seat.member_id).where(Seat.team_id == team.id)))
        completed = GroupbuyCompletedV1(team_id=team.id, campaign_id=team.campaign_id, member_ids=member_ids)
        await outbox.add(session, tenant_id=tenant_id, payloads=[completed])
    return team, order


async def _take_seat(
    session: AsyncSession, outbox: Outbox, team: Team, terms: GroupBuySettings, member_id: uuid.UUID, now: datetime
) -> Order:
    pricing = orders.Pricing(
        items=[OrderItem(product_id=terms.product_id, quantity=1, unit_price_fen=terms.price_fen)],
        campaign_id=team.campaign_id,
    )
    order = await orders.record(
        session=session, outbox=outbox, tenant_id=team.tenant_id, member_id=member_id, pricing=pricing, now=now
    )
    session.add(Seat(team_id=team.id, member_id=member_id, order_id=order.id, joined_at=now))
    try:
        await session.flush()
    except IntegrityError:
        raise AlreadyInTeam(f"Member {member_id} is in team {team.id} already.") from None
    return order


async def get_team(*, session: AsyncSession, tenant_id: str, campaign_id: uuid.UUID, team_id: uuid.UUID) -> Team:
    """One of the tenant's group-buy teams in the campaign."""
    team = await session.get(Team, team_id)
    if team is None or team.tenant_id != tenant_id or team.campaign_id != campaign_id:
        raise TeamNotFound(f"No group-buy team {team_id}.")
    return team


async def seats_of(*, session: AsyncSession, team_id: uuid.UUID) -> list[Seat]:
    """A team's seats, in the order taken."""
    return list(await session.scalars(select(Seat).where(Seat.team_id == team_id).order_by(Seat.joined_at)))


async def expire_due(*, session: AsyncSession, outbox: Outbox, now: datetime) -> int:
    """Expires teams short of members at their deadline: unpaid orders are cancelled, paid ones refunded."""
    due = list(
        await session.scalars(
            select(Team)
            .where(Team.status == "forming", Team.expires_at <= now)
            .order_by(Team.expires_at)
            .limit(_EXPIRY_BATCH)
            .with_for_update(skip_locked=True)
        )
    )
    for team in due:
        team.status, team.closed_at = "expired", now
        order_ids = list(await session.scalars(select(Seat.order_id).where(Seat.team_id == team.id)))
        for order_id in order_ids:
            order = await orders.get_order(session=session, tenant_id=team.tenant_id, order_id=order_id, lock=True)
            if order.status == "placed":
                await orders.cancel(session=session, order=order, now=now)
            elif order.status in ("paid", "partially_refunded"):
                await orders.refund(
                    session=session,
                    outbox=outbox,
                    order=order,
                    amount_fen=None,
                    reason="group-buy team expired",
                    now=now,
                )
    return len(due)
