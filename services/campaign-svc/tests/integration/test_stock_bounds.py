"""A flash sale's stock on real PostgreSQL built by the migrations: the database refuses a slot sold below
nothing or past its total, whatever statement tries, and a sale still sells to the last unit and takes
back a cancelled order's units."""

import asyncio
import secrets
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from alembic import command
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from campaign_svc.campaigns import service as campaigns
from campaign_svc.campaigns.schemas import CampaignCreate
from campaign_svc.exceptions import SoldOut
from campaign_svc.flash_sales import service as flash_sales
from campaign_svc.flash_sales.models import CampaignStock
from campaign_svc.handlers import HANDLERS
from campaign_svc.models import Base
from campaign_svc.orders import service as orders
from campaign_svc.orders.models import Order
from qunyun_shared.cli import alembic_config
from qunyun_shared.db import create_engine
from qunyun_shared.events import new_event
from qunyun_shared.events.member import MemberJoinedV1
from qunyun_shared.outbox import Outbox
from tests.support.harness import create_database, drop_database

pytestmark = pytest.mark.integration

TENANT = "tenant-a"
OUTBOX = Outbox(table=Base.metadata.tables["outbox"], source="campaign-svc", topic_prefix="it")


@pytest_asyncio.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    """A PostgreSQL database of its own built by campaign-svc's migrations, as deployed."""
    name = f"it_{secrets.token_hex(4)}"
    url = await create_database(name)
    # Alembic's environment runs its own event loop: in a thread, off this one.
    await asyncio.to_thread(command.upgrade, alembic_config("campaign_svc", url), "head")
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()
        await drop_database(name)


async def member(engine: AsyncEngine) -> uuid.UUID:
    """A member known to campaigns, as member-svc's join makes them."""
    joined = MemberJoinedV1(
        member_id=uuid.uuid4(), community_id=uuid.uuid4(), channel="qr", joined_at=datetime.now(UTC)
    )
    async with AsyncSession(engine) as session, session.begin():
        await HANDLERS["member.joined"](
            session, OUTBOX, [new_event(source="member-svc", tenant_id=TENANT, payload=joined)]
        )
    return joined.member_id


async def flash_sale(engine: AsyncEngine, stock: int) -> uuid.UUID:
    settings = {"product_id": "sku-1", "price_fen": 990, "stock": stock, "per_member_limit": 5}
    created = CampaignCreate(kind="flash_sale", name="秒杀", settings=settings)
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        campaign = await campaigns.create_campaign(
            session=session, outbox=OUTBOX, tenant_id=TENANT, campaign_in=created, now=datetime.now(UTC)
        )
    return campaign.id


async def stock_of(engine: AsyncEngine, sale: uuid.UUID) -> tuple[int, int]:
    async with AsyncSession(engine) as session:
        total, sold = (
            await session.execute(
                select(func.sum(CampaignStock.total), func.sum(CampaignStock.sold)).where(
                    CampaignStock.campaign_id == sale
                )
            )
        ).one()
    return int(total), int(sold)


@pytest.mark.parametrize("sold", [CampaignStock.total + 1, -1], ids=["past its total", "below nothing"])
async def test_the_database_refuses_a_slot_sold_out_of_its_bounds(engine: AsyncEngine, sold: object) -> None:
    sale = await flash_sale(engine, stock=4)

    with pytest.raises(IntegrityError, match="ck_campaign_stock_sold_within_total"):
        async with AsyncSession(engine) as session, session.begin():
            await session.execute(update(CampaignStock).where(CampaignStock.campaign_id == sale).values(sold=sold))

    assert await stock_of(engine, sale) == (4, 0)  # nothing written


async def test_the_database_refuses_a_slot_created_with_more_sold_than_its_total(engine: AsyncEngine) -> None:
    sale = await flash_sale(engine, stock=4)

    with pytest.raises(IntegrityError, match="ck_campaign_stock_sold_within_total"):
        async with AsyncSession(engine) as session, session.begin():
            session.add(CampaignStock(campaign_id=sale, slot=999, total=1, sold=2))

    assert await stock_of(engine, sale) == (4, 0)


async def test_a_sale_sells_to_the_last_unit_and_takes_a_cancelled_order_back(engine: AsyncEngine) -> None:
    sale = await flash_sale(engine, stock=3)
    buyer = await member(engine)
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        order = await flash_sales.buy(
            session=session,
            outbox=OUTBOX,
            tenant_id=TENANT,
            campaign_id=sale,
            member_id=buyer,
            quantity=3,
            now=datetime.now(UTC),
        )
    assert await stock_of(engine, sale) == (3, 3)

    with pytest.raises(SoldOut):
        async with AsyncSession(engine) as session, session.begin():
            await flash_sales.buy(
                session=session,
                outbox=OUTBOX,
                tenant_id=TENANT,
                campaign_id=sale,
                member_id=await member(engine),
                quantity=1,
                now=datetime.now(UTC),
            )

    async with AsyncSession(engine) as session, session.begin():
        await orders.cancel(session=session, order=await session.get_one(Order, order.id), now=datetime.now(UTC))
    assert await stock_of(engine, sale) == (3, 0)
