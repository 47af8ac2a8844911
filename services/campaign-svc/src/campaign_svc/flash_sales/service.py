"""Flash sales (秒杀): a campaign's stock sold at its price, exactly, to thousands of members at once.

Each attempt claims the member's share, then takes its units (`stock.py`: from a slot no other buyer
holds, so buyers do not wait for each other), and only then writes the order, so an attempt that finds
no unit left is refused before it writes one. Once the stock is gone, attempts are refused by a read;
and for a moment after a process has seen a sale sold out, it refuses attempts on it before they reach
the framework (`sold_out_gate.py`), since most of a flash sale's crowd arrives after the last unit
went.
"""

import time
import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.campaigns import quotas
from campaign_svc.campaigns import service as campaigns
from campaign_svc.exceptions import CampaignNotRunning, PurchaseLimitReached, SoldOut
from campaign_svc.flash_sales import stock
from campaign_svc.flash_sales.schemas import FlashSaleSettings
from campaign_svc.members import service as members
from campaign_svc.orders import service as orders
from campaign_svc.orders.models import Order
from campaign_svc.orders.schemas import OrderItem
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
    *,
    session: AsyncSession,
    outbox: Outbox,
    tenant_id: str,
    campaign_id: uuid.UUID,
    member_id: uuid.UUID,
    quantity: int,
    now: datetime,
    community_id: uuid.UUID | None = None,
) -> Order:
    """An order for `quantity` units at the sale's price, within the stock and the member's limit."""
    try:
        campaign = await campaigns.running_campaign(
            session=session, tenant_id=tenant_id, campaign_id=campaign_id, now=now, kind="flash_sale"
        )
    except CampaignNotRunning:
        SOLD_OUT.forget(campaign_id)  # over: attempts are to hear that, not "sold out"
        raise
    sale = FlashSaleSettings.model_validate(campaign.settings)
    if (left := (await _units(session, campaign.id)).left) < quantity:
        raise _sold_out_seen(campaign.id, tenant_id, left)
    await members.get_member(session=session, tenant_id=tenant_id, member_id=member_id)
    if not await quotas.claim(
        session=session, scope_id=campaign.id, member_id=member_id, amount=quantity, limit=sale.per_member_limit
    ):
        raise PurchaseLimitReached(
            f"Member {member_id} may buy at most {sale.per_member_limit} in flash sale {campaign_id}.",
            per_member_limit=sale.per_member_limit,
        )
    if not await stock.take(session=session, campaign_id=campaign.id, quantity=quantity):
        raise _sold_out_seen(campaign.id, tenant_id, (await _units(session, campaign.id)).left)
    SOLD_OUT.forget(campaign.id)  # units came back
    pricing = orders.Pricing(
        items=[OrderItem(product_id=sale.product_id, quantity=quantity, unit_price_fen=sale.price_fen)],
        campaign_id=campaign.id,
        community_id=community_id,
    )
    return await orders.record(
        session=session, outbox=outbox, tenant_id=tenant_id, member_id=member_id, pricing=pricing, now=now
    )


def _sold_out_seen(campaign_id: uuid.UUID, tenant_id: str, left: int) -> SoldOut:
    if left <= 0:
        SOLD_OUT.remember(campaign_id, tenant_id)
    return sold_out(campaign_id, left)


def sold_out(campaign_id: uuid.UUID, left: int) -> SoldOut:
    """The refusal of an attempt on a sale with `left` units."""
    return SoldOut(f"Flash sale {campaign_id} has {left} left.", left=max(left, 0))


async def stock_of(*, session: AsyncSession, tenant_id: str, campaign_id: uuid.UUID) -> stock.Units:
    """A flash sale's units and how many are sold."""
    campaign = await campaigns.get_campaign(
        session=session, tenant_id=tenant_id, campaign_id=campaign_id, kind="flash_sale"
    )
    return await _units(session, campaign.id)


async def _units(session: AsyncSession, campaign_id: uuid.UUID) -> stock.Units:
    units = await stock.units_of(session=session, campaign_id=campaign_id)
    assert units is not None, "a flash sale has its stock from its creation"
    return units
