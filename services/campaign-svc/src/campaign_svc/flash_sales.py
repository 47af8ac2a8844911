"""Flash sales (秒杀): a campaign's stock sold at its price, exactly, to thousands of members at once.

Each attempt claims the member's share first, then one conditional update on the stock row sells the
units or refuses; the stock row's lock is taken last, so it is held only for the order's insert and
the commit. Once the stock is gone, attempts are refused by a read and write nothing.
"""

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc import audience, campaigns, orders, quotas
from campaign_svc.exceptions import PurchaseLimitReached, SoldOut
from campaign_svc.models import CampaignStock, Order
from campaign_svc.schemas.campaigns import FlashSaleSettings
from campaign_svc.schemas.orders import OrderItem
from qunyun_shared.outbox import Outbox


async def buy(
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    campaign_id: uuid.UUID,
    member_id: uuid.UUID,
    quantity: int,
    now: datetime,
    community_id: uuid.UUID | None = None,
) -> Order:
    campaign = await campaigns.running_campaign(session, tenant_id, campaign_id, now, kind="flash_sale")
    sale = FlashSaleSettings.model_validate(campaign.settings)
    stock = await session.scalar(select(CampaignStock).where(CampaignStock.campaign_id == campaign.id))
    assert stock is not None
    if stock.sold + quantity > stock.total:
        raise _sold_out(campaign_id, stock.total - stock.sold)
    await audience.get_member(session, tenant_id, member_id)
    if not await quotas.claim(session, campaign.id, member_id, quantity, sale.per_member_limit):
        raise PurchaseLimitReached(
            f"Member {member_id} may buy at most {sale.per_member_limit} in flash sale {campaign_id}.",
            per_member_limit=sale.per_member_limit,
        )
    pricing = orders.Pricing(
        items=[OrderItem(product_id=sale.product_id, quantity=quantity, unit_price_fen=sale.price_fen)],
        campaign_id=campaign.id,
        community_id=community_id,
    )
    order = await orders.record(session, outbox, tenant_id, member_id, pricing, now)
    sold = await session.execute(
        update(CampaignStock)
        .where(CampaignStock.campaign_id == campaign.id, CampaignStock.sold + quantity <= CampaignStock.total)
        .values(sold=CampaignStock.sold + quantity)
        .returning(CampaignStock.sold)
    )
    if sold.first() is None:
        raise _sold_out(campaign_id, 0)
    return order


def _sold_out(campaign_id: uuid.UUID, left: int) -> SoldOut:
    return SoldOut(f"Flash sale {campaign_id} has {left} left.", left=max(left, 0))


async def stock_of(session: AsyncSession, tenant_id: str, campaign_id: uuid.UUID) -> CampaignStock:
    campaign = await campaigns.get_campaign(session, tenant_id, campaign_id, kind="flash_sale")
    stock = await session.get(CampaignStock, campaign.id)
    assert stock is not None
    return stock
