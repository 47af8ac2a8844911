"""Flash sales (秒杀): a campaign's stock sold at its price, exactly, to thousands of members at once.

Each attempt claims the member's share first, then one conditional update on the stock row sells the
units or refuses; the stock row's lock is taken last, so it is held only for the order's insert and
the commit. Once the stock is gone, attempts are refused by a read and write nothing; and for a moment
after a process has seen a sale sold out, it refuses attempts on it before they reach the framework
(`api/sold_out_gate.py`), since most of a flash sale's crowd arrives after the last unit went.
"""

import time
import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc import audience, campaigns, orders, quotas
from campaign_svc.exceptions import CampaignNotRunning, PurchaseLimitReached, SoldOut
from campaign_svc.models import CampaignStock, Order
from campaign_svc.schemas.campaigns import FlashSaleSettings
from campaign_svc.schemas.orders import OrderItem
from qunyun_shared.outbox import Outbox


class SoldOutMemo:
    """Flash sales this process saw sold out. Units come back when an order is cancelled, and a sale can
    end, so every `seconds` one attempt goes on to look again (the others are still refused meanwhile,
    rather than all rushing the database at once); what it finds, a unit or the sale over, is forgotten
    or remembered for the next `seconds`."""

    def __init__(self, seconds: float = 1.0) -> None:
        self.seconds = seconds
        self._seen: dict[uuid.UUID, tuple[str, float]] = {}

    def remember(self, campaign_id: uuid.UUID, tenant_id: str) -> None:
        self._seen[campaign_id] = (tenant_id, time.monotonic() + self.seconds)

    def forget(self, campaign_id: uuid.UUID) -> None:
        self._seen.pop(campaign_id, None)

    def sold_out(self, campaign_id: uuid.UUID, tenant_id: str) -> bool:
        """Whether to refuse the attempt unseen; False for the one attempt that is to look again."""
        seen = self._seen.get(campaign_id)
        if seen is None or seen[0] != tenant_id:
            return False
        if seen[1] <= time.monotonic():
            self.remember(campaign_id, tenant_id)  # the others wait for what this attempt finds
            return False
        return True


SOLD_OUT = SoldOutMemo()


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
    try:
        campaign = await campaigns.running_campaign(session, tenant_id, campaign_id, now, kind="flash_sale")
    except CampaignNotRunning:
        SOLD_OUT.forget(campaign_id)  # over: attempts are to hear that, not "sold out"
        raise
    sale = FlashSaleSettings.model_validate(campaign.settings)
    stock = await session.scalar(select(CampaignStock).where(CampaignStock.campaign_id == campaign.id))
    assert stock is not None
    if stock.sold + quantity > stock.total:
        if stock.sold >= stock.total:
            SOLD_OUT.remember(campaign.id, tenant_id)
        raise sold_out(campaign_id, stock.total - stock.sold)
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
        raise sold_out(campaign_id, 0)
    SOLD_OUT.forget(campaign.id)  # units came back
    return order


def sold_out(campaign_id: uuid.UUID, left: int) -> SoldOut:
    return SoldOut(f"Flash sale {campaign_id} has {left} left.", left=max(left, 0))


async def stock_of(session: AsyncSession, tenant_id: str, campaign_id: uuid.UUID) -> CampaignStock:
    campaign = await campaigns.get_campaign(session, tenant_id, campaign_id, kind="flash_sale")
    stock = await session.get(CampaignStock, campaign.id)
    assert stock is not None
    return stock
