"""A flash sale's stock over slots: spread so one slot serves a buyer, taken whole or not at all, gathered
from several slots when no single one has enough, given back on cancel."""

import uuid

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaign_svc.campaigns.models import Campaign
from campaign_svc.flash_sales import stock
from campaign_svc.flash_sales.models import CampaignStock

from .conftest import World

pytestmark = pytest.mark.unit

FLASH = {"product_id": "sku-1", "price_fen": 990, "stock": 5, "per_member_limit": 2}


async def slots_of(session: AsyncSession, campaign_id: uuid.UUID) -> list[tuple[int, int]]:
    rows = await session.execute(
        select(CampaignStock.total, CampaignStock.sold)
        .where(CampaignStock.campaign_id == campaign_id)
        .order_by(CampaignStock.slot)
    )
    return [(total, sold) for total, sold in rows]


async def take(world: World, sale: Campaign, quantity: int) -> bool:
    return await stock.take(session=world.session, campaign_id=sale.id, quantity=quantity)


def test_the_stock_is_spread_evenly_and_each_slot_can_serve_a_buyer() -> None:
    sale = uuid.uuid4()
    assert [s.total for s in stock.slots(sale, 100, 1)] == [1] * 100
    assert [s.total for s in stock.slots(sale, 5, 2)] == [3, 2]
    assert [s.total for s in stock.slots(sale, 1, 3)] == [1]
    large = stock.slots(sale, 1_000_003, 1)
    assert len(large) == stock.SLOTS and sum(s.total for s in large) == 1_000_003
    assert max(s.total for s in large) - min(s.total for s in large) == 1


async def test_units_are_taken_whole_from_one_slot_or_gathered_from_several(world: World) -> None:
    sale = await world.campaign("flash_sale", settings=FLASH)
    assert await take(world, sale, 2) and await take(world, sale, 2)
    assert await slots_of(world.session, sale.id) == [(3, 2), (2, 2)]
    assert not await take(world, sale, 2)  # one unit left: nothing is taken
    assert await take(world, sale, 1)
    assert await stock.units_of(session=world.session, campaign_id=sale.id) == stock.Units(sale.id, total=5, sold=5)


async def test_a_buyer_wanting_more_than_any_one_slot_has_gathers_them(world: World) -> None:
    sale = await world.campaign("flash_sale", settings=FLASH | {"stock": 4, "per_member_limit": 1})
    for _ in range(3):
        assert await take(world, sale, 1)
    assert await stock.give_back(session=world.session, campaign_id=sale.id, quantity=2)
    assert await slots_of(world.session, sale.id) == [(1, 0), (1, 0), (1, 1), (1, 0)]
    assert await take(world, sale, 3)  # no slot holds 3: three slots give one each
    assert (await stock.units_of(session=world.session, campaign_id=sale.id)).left == 0  # type: ignore[union-attr]


async def test_only_a_flash_sale_has_stock_to_give_back(world: World) -> None:
    group_buy = await world.campaign("group_buy", settings={"product_id": "sku-2", "price_fen": 5_900, "team_size": 3})
    assert await stock.units_of(session=world.session, campaign_id=group_buy.id) is None
    assert not await stock.give_back(session=world.session, campaign_id=group_buy.id, quantity=1)
