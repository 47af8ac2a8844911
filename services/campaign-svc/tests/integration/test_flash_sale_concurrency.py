"""Flash sales on real PostgreSQL under concurrent attempts: exactly the stock is sold, never more, each
member within the limit, and units a buyer rolls back are sold to another."""

import asyncio
import random
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from campaign_svc.campaigns import service as campaigns
from campaign_svc.campaigns.models import MemberQuota
from campaign_svc.campaigns.schemas import CampaignCreate
from campaign_svc.exceptions import PurchaseLimitReached, SoldOut
from campaign_svc.flash_sales import service as flash_sales
from campaign_svc.flash_sales.models import CampaignStock
from campaign_svc.handlers import HANDLERS
from campaign_svc.models import Base
from campaign_svc.orders.models import Order
from qunyun_shared.events import new_event
from qunyun_shared.events.member import MemberJoinedV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import wait_until
from tests.support.harness import scratch_database, waiting_on_locks

pytestmark = pytest.mark.integration

TENANT = "tenant-a"
OUTBOX = Outbox(table=Base.metadata.tables["outbox"], source="campaign-svc", topic_prefix="it")


class RolledBack(Exception):
    """What makes an attempt's transaction roll back after it took its units."""


@pytest_asyncio.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    async with scratch_database(Base.metadata) as engine:
        yield engine


async def members(engine: AsyncEngine, count: int) -> list[uuid.UUID]:
    """`count` members known to campaigns, as member-svc's joins make them."""
    joined = [
        MemberJoinedV1(member_id=uuid.uuid4(), community_id=uuid.uuid4(), channel="qr", joined_at=datetime.now(UTC))
        for _ in range(count)
    ]
    async with AsyncSession(engine) as session, session.begin():
        envelopes = [new_event(source="member-svc", tenant_id=TENANT, payload=j) for j in joined]
        await HANDLERS["member.joined"](session, OUTBOX, envelopes)
    return [j.member_id for j in joined]


async def flash_sale(engine: AsyncEngine, stock: int, per_member_limit: int) -> uuid.UUID:
    settings = {"product_id": "sku-1", "price_fen": 990, "stock": stock, "per_member_limit": per_member_limit}
    created = CampaignCreate(kind="flash_sale", name="秒杀", settings=settings)
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        campaign = await campaigns.create_campaign(
            session=session, outbox=OUTBOX, tenant_id=TENANT, campaign_in=created, now=datetime.now(UTC)
        )
    return campaign.id


async def attempt(
    engine: AsyncEngine,
    sale: uuid.UUID,
    member_id: uuid.UUID,
    quantity: int = 1,
    *,
    roll_back: bool = False,
    hold: asyncio.Event | None = None,
    took: asyncio.Event | None = None,
) -> str:
    """One attempt in its own transaction, as a request runs it: what it was answered. With `hold`, it sets
    `took` once its units are taken and waits for `hold` before it ends its transaction."""
    try:
        async with AsyncSession(engine) as session, session.begin():
            await flash_sales.buy(
                session=session,
                outbox=OUTBOX,
                tenant_id=TENANT,
                campaign_id=sale,
                member_id=member_id,
                quantity=quantity,
                now=datetime.now(UTC),
            )
            if hold is not None:
                assert took is not None
                took.set()
                await hold.wait()  # its units taken, not yet committed
            if roll_back:
                raise RolledBack
    except (SoldOut, PurchaseLimitReached, RolledBack) as refused:
        return type(refused).__name__
    return "bought"


async def sold(engine: AsyncEngine, sale: uuid.UUID) -> dict[str, object]:
    """Units in orders per member, the stock's count of units sold, and the members' claimed shares."""
    async with AsyncSession(engine) as session:
        orders = (await session.execute(select(Order.member_id, Order.items).where(Order.campaign_id == sale))).all()
        stock_sold = await session.scalar(select(func.sum(CampaignStock.sold)).where(CampaignStock.campaign_id == sale))
        shares = (
            await session.execute(select(MemberQuota.member_id, MemberQuota.used).where(MemberQuota.scope_id == sale))
        ).all()
    units: Counter[uuid.UUID] = Counter()
    for member_id, items in orders:
        units[member_id] += sum(item["quantity"] for item in items)
    return {
        "units": units,
        "stock_sold": stock_sold,
        "shares": Counter({member_id: used for member_id, used in shares if used}),
    }


async def test_a_crowd_buys_exactly_the_stock_each_member_within_the_limit(engine: AsyncEngine) -> None:
    crowd = await members(engine, 150)
    sale = await flash_sale(engine, stock=50, per_member_limit=2)
    chance = random.Random(6)
    attempts = [
        attempt(engine, sale, chance.choice(crowd), chance.choice([1, 1, 2]), roll_back=chance.random() < 0.1)
        for _ in range(400)
    ]
    answers = Counter(await asyncio.gather(*attempts))
    assert set(answers) <= {"bought", "SoldOut", "PurchaseLimitReached", "RolledBack"}
    assert answers["SoldOut"] > 0 and answers["PurchaseLimitReached"] > 0
    during = await sold(engine, sale)
    assert during["stock_sold"] == sum(during["units"].values()) <= 50  # type: ignore[attr-defined]
    # Whatever the crowd's rolled-back attempts left, late buyers get: no unit is lost.
    for latecomer in await members(engine, 50):
        if await attempt(engine, sale, latecomer) == "SoldOut":
            break
    after = await sold(engine, sale)
    assert sum(after["units"].values()) == after["stock_sold"] == 50  # type: ignore[attr-defined]
    assert max(after["units"].values()) <= 2  # type: ignore[attr-defined]
    assert after["shares"] == after["units"]  # nothing half-written


async def test_units_a_buyer_rolls_back_go_to_the_attempt_waiting_for_them(engine: AsyncEngine) -> None:
    alice, bob, carol, dave = await members(engine, 4)
    sale = await flash_sale(engine, stock=3, per_member_limit=1)
    took, release = asyncio.Event(), asyncio.Event()
    holding = asyncio.create_task(attempt(engine, sale, alice, roll_back=True, hold=release, took=took))
    await asyncio.wait_for(took.wait(), 10)  # alice holds a slot
    assert [await attempt(engine, sale, bob), await attempt(engine, sale, carol)] == ["bought", "bought"]
    waiting = asyncio.create_task(attempt(engine, sale, dave))
    await wait_until(lambda: waiting_on_locks(engine), what="dave's attempt blocked on alice's lock")
    assert not waiting.done()  # no free slot has a unit: dave waits for alice's
    release.set()
    assert (await holding, await waiting) == ("RolledBack", "bought")
    assert (await sold(engine, sale))["stock_sold"] == 3


async def test_a_member_buying_at_once_from_many_devices_gets_the_limit(engine: AsyncEngine) -> None:
    [member] = await members(engine, 1)
    sale = await flash_sale(engine, stock=100, per_member_limit=3)
    answers = Counter(await asyncio.gather(*(attempt(engine, sale, member, 2) for _ in range(10))))
    assert answers == {"bought": 1, "PurchaseLimitReached": 9}
    assert (await sold(engine, sale))["units"] == {member: 2}
