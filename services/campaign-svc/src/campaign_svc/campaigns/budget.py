"""A campaign's budget account: commit before issuing, charge on cost, release what will never be charged.

Committing is one conditional update, so concurrent issues can never commit past the budget; a campaign
whose cost reaches its budget ends.
"""

import uuid
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.campaigns import service as campaigns
from campaign_svc.campaigns.models import Campaign
from campaign_svc.exceptions import BudgetExhausted
from qunyun_shared.outbox import Outbox


async def commit(*, session: AsyncSession, campaign_id: uuid.UUID, amount_fen: int) -> None:
    """Sets aside `amount_fen` of the budget, or refuses if the budget cannot cover it."""
    if amount_fen == 0:
        return
    committed = await session.execute(
        update(Campaign)
        .where(
            Campaign.id == campaign_id,
            Campaign.budget_fen.is_(None) | (Campaign.committed_fen + amount_fen <= Campaign.budget_fen),
        )
        .values(committed_fen=Campaign.committed_fen + amount_fen)
        .returning(Campaign.id)
    )
    if committed.first() is None:
        raise BudgetExhausted(f"Campaign {campaign_id} has no budget left for {amount_fen} fen.")


async def release(*, session: AsyncSession, campaign_id: uuid.UUID, amount_fen: int) -> None:
    """Gives back a commitment that will not be charged (a coupon expired unredeemed)."""
    if amount_fen:
        await session.execute(
            update(Campaign).where(Campaign.id == campaign_id).values(committed_fen=Campaign.committed_fen - amount_fen)
        )


async def charge(
    *, session: AsyncSession, outbox: Outbox, campaign_id: uuid.UUID, committed_fen: int, cost_fen: int, now: datetime
) -> None:
    """Turns a commitment into cost: the part of it not spent goes back to the budget."""
    row = (
        await session.execute(
            update(Campaign)
            .where(Campaign.id == campaign_id)
            .values(
                spent_fen=Campaign.spent_fen + cost_fen,
                committed_fen=Campaign.committed_fen - committed_fen + cost_fen,
            )
            .returning(Campaign.budget_fen, Campaign.spent_fen, Campaign.status)
        )
    ).one()
    if row.budget_fen is not None and row.spent_fen >= row.budget_fen and row.status != "ended":
        campaign = await session.get(Campaign, campaign_id, populate_existing=True)
        assert campaign is not None
        await campaigns.end(session=session, outbox=outbox, campaign=campaign, reason="budget_spent", now=now)


async def refund(*, session: AsyncSession, campaign_id: uuid.UUID, committed_fen: int, cost_fen: int) -> None:
    """Undoes a charge whose cause was undone (a coupon's order cancelled before payment): the
    commitment is restored as it was."""
    await session.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(
            spent_fen=Campaign.spent_fen - cost_fen,
            committed_fen=Campaign.committed_fen + committed_fen - cost_fen,
        )
    )
