"""Order history: imported orders are stored as orders and announced at their historical times, marked
imported; a row imported again is unchanged, with other content it fails naming the earlier order; a bad
row fails alone and writes nothing; nothing live (coupons, stock, budgets, quotas) is touched."""

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select

from campaign_svc.campaigns import service as campaigns
from campaign_svc.campaigns.models import Campaign, MemberQuota
from campaign_svc.coupons import service as coupons
from campaign_svc.coupons.models import Coupon
from campaign_svc.flash_sales.models import CampaignStock
from campaign_svc.orders import history
from campaign_svc.orders import service as orders
from campaign_svc.orders.api import router
from campaign_svc.orders.models import Order, Refund
from campaign_svc.orders.schemas import OrderCreate
from qunyun_shared.events.member import MemberErasedV1
from qunyun_shared.history import HistoryBatchRead
from qunyun_shared.identity import Identity
from qunyun_shared.testing import routes_client

from .conftest import NOW, OUTBOX, TENANT, World

pytestmark = pytest.mark.unit

SHANGHAI = timezone(timedelta(hours=8))
# A shop's history: a year and more before the brand ran communities on Qunyun.
LAST_YEAR = datetime(2025, 6, 18, 20, 41, tzinfo=SHANGHAI)


def row(member_id: uuid.UUID, merchant_order_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """A paid order of two items (2 of 59.00 yuan) placed a year ago, as a merchant's file gives it."""
    return {
        "merchant_order_id": merchant_order_id or f"TB-{uuid.uuid4().hex[:10]}",
        "member_id": str(member_id),
        "placed_at": LAST_YEAR.isoformat(),
        "paid_at": (LAST_YEAR + timedelta(minutes=1)).isoformat(),
        "items": [{"product_id": "sku-oat-1kg", "quantity": 2, "unit_price_fen": 5900}],
        **fields,
    }


async def import_rows(world: World, *rows: dict[str, Any], tenant_id: str = TENANT) -> HistoryBatchRead:
    return await history.import_orders(session=world.session, outbox=world.outbox, tenant_id=tenant_id, rows=rows)


async def orders_in(world: World) -> int:
    return await world.session.scalar(select(func.count()).select_from(Order)) or 0


async def test_imported_orders_are_orders_of_their_time_announced_as_imported(world: World) -> None:
    # The member joined now, long after these orders (history may be paid before any join), and a member
    # campaign-svc has not heard of yet is not refused: their join may still be on its way.
    known, unheard_of = await world.member(), uuid.uuid4()
    refunded_at = LAST_YEAR + timedelta(days=3)
    batch = await import_rows(
        world,
        row(
            known,
            "TB-1",
            coupon_code="618-20OFF",
            discount_fen=2000,
            refunded_at=refunded_at.isoformat(),
            refund_fen=3000,
        ),
        row(unheard_of, "TB-2", community_id=str(uuid.uuid4())),
        row(known, "TB-3", placed_at=(LAST_YEAR - timedelta(days=30)).isoformat(), paid_at=None),
        row(known, "TB-4", refunded_at=refunded_at.isoformat()),
    )
    assert (batch.created, batch.unchanged, batch.failed) == (4, 0, 0)
    ids = [result.id for result in batch.results]
    assert [result.row for result in batch.results] == [0, 1, 2, 3] and None not in ids
    stored = {
        o.merchant_order_id: o
        for o in await orders.orders_of(session=world.session, tenant_id=TENANT, member_id=None, limit=10, cursor=None)
    }
    assert [stored[f"TB-{n}"].id for n in range(1, 5)] == ids
    first = await orders.get_order(session=world.session, tenant_id=TENANT, order_id=ids[0])
    assert (first.status, first.imported, first.coupon_code, first.coupon_id, first.campaign_id) == (
        "partially_refunded",
        True,
        "618-20OFF",
        None,
        None,
    )
    assert (first.subtotal_fen, first.discount_fen, first.amount_fen, first.refunded_fen) == (11_800, 2000, 9800, 3000)
    assert (first.placed_at, first.paid_at, first.closed_at) == (LAST_YEAR, LAST_YEAR + timedelta(minutes=1), None)
    assert [(o.status, o.refunded_fen) for o in (stored["TB-2"], stored["TB-3"], stored["TB-4"])] == [
        ("paid", 0),
        ("placed", 0),
        ("refunded", 11_800),
    ]
    assert stored["TB-4"].closed_at == refunded_at
    refunds = (await world.session.scalars(select(Refund).order_by(Refund.amount_fen))).all()
    assert [(r.order_id, r.amount_fen, r.refunded_at) for r in refunds] == [
        (ids[0], 3000, refunded_at),
        (ids[3], 11_800, refunded_at),
    ]

    announced = [e for e in await world.envelopes() if e.type.startswith("order.")]
    assert all(e.imported for e in announced)
    # In the order they happened: TB-3 a month earlier, then the placements, payments and refunds.
    assert [(e.type, e.data.order_id) for e in announced] == [  # type: ignore[attr-defined]
        ("order.placed", ids[2]),
        ("order.placed", ids[0]),
        ("order.placed", ids[1]),
        ("order.placed", ids[3]),
        ("order.paid", ids[0]),
        ("order.paid", ids[1]),
        ("order.paid", ids[3]),
        ("order.refunded", ids[0]),
        ("order.refunded", ids[3]),
    ]
    placed = next(e.data for e in announced if e.type == "order.placed" and e.data.order_id == ids[0])  # type: ignore[attr-defined]
    assert (placed.placed_at, placed.amount_fen, placed.product_ids, placed.attribution.coupon_id) == (  # type: ignore[attr-defined]
        LAST_YEAR,
        9800,
        ["sku-oat-1kg"],
        None,
    )
    times = {(e.type, e.data.order_id): e.data for e in announced}  # type: ignore[attr-defined]
    assert times[("order.paid", ids[0])].paid_at == LAST_YEAR + timedelta(minutes=1)  # type: ignore[attr-defined]
    assert (times[("order.refunded", ids[0])].refunded_at, times[("order.refunded", ids[0])].amount_fen) == (  # type: ignore[attr-defined]
        refunded_at,
        3000,
    )


async def test_a_row_imported_again_is_unchanged_and_other_content_fails_naming_the_earlier_order(world: World) -> None:
    member_id = await world.member()
    original = row(member_id, "TB-1", refunded_at=(LAST_YEAR + timedelta(days=1)).isoformat())
    [first] = (await import_rows(world, original)).results
    events = len(await world.envelopes())
    # The same order, its times in UTC and its full refund spelled out: the same content.
    same = original | {
        "placed_at": LAST_YEAR.astimezone(UTC).isoformat(),
        "paid_at": (LAST_YEAR + timedelta(minutes=1)).astimezone(UTC).isoformat(),
        "refund_fen": 11_800,
    }
    again = await import_rows(world, same, original | {"discount_fen": 100}, row(member_id, "TB-2"))
    assert [(r.outcome, r.id) for r in again.results[:2]] == [("unchanged", first.id), ("failed", None)]
    [problem] = again.results[1].problems
    assert problem.field == "merchant_order_id" and str(first.id) in problem.message
    assert again.results[2].outcome == "created"
    assert await orders_in(world) == 2
    assert len(await world.envelopes()) == events + 2  # TB-2 placed and paid, nothing of TB-1 again


async def test_a_merchant_id_repeated_in_one_batch_lands_once(world: World) -> None:
    member_id = await world.member()
    batch = await import_rows(
        world,
        row(member_id, "TB-1"),
        row(member_id, "TB-1"),
        row(member_id, "TB-1", items=[{"product_id": "sku-x", "quantity": 1, "unit_price_fen": 1}]),
    )
    created = batch.results[0].id
    assert [(r.outcome, r.id) for r in batch.results] == [
        ("created", created),
        ("unchanged", created),
        ("failed", None),
    ]
    assert str(created) in batch.results[2].problems[0].message
    assert await orders_in(world) == 1


async def test_an_order_placed_live_under_the_merchant_id_is_not_imported_over(world: World) -> None:
    member_id = await world.member()
    items = [{"product_id": "sku-oat-1kg", "quantity": 2, "unit_price_fen": 5900}]
    live = await orders.place(
        session=world.session,
        outbox=world.outbox,
        tenant_id=TENANT,
        order_in=OrderCreate.model_validate({"member_id": member_id, "items": items, "merchant_order_id": "TB-1"}),
        now=NOW,
    )
    [result] = (await import_rows(world, row(member_id, "TB-1"))).results
    assert result.outcome == "failed" and f"placed live before, as order {live.id}" in result.problems[0].message
    # And a live push under an imported order's id answers it, if it says the same.
    [imported] = (await import_rows(world, row(member_id, "TB-2", paid_at=None))).results
    pushed = OrderCreate.model_validate({"member_id": member_id, "items": items, "merchant_order_id": "TB-2"})
    answered = await orders.place(
        session=world.session, outbox=world.outbox, tenant_id=TENANT, order_in=pushed, now=NOW
    )
    assert (answered.id, answered.imported) == (imported.id, True)


def bad_rows(member_id: uuid.UUID) -> list[tuple[dict[str, Any], str | None]]:
    """Rows each wrong in one way, with the field its problem names."""
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    before = (LAST_YEAR - timedelta(seconds=1)).isoformat()
    return [
        (row(member_id, paid_at=before), "paid_at"),
        (row(member_id, placed_at=future, paid_at=None), "placed_at"),
        (row(member_id, refunded_at=future), "refunded_at"),
        (row(member_id, refunded_at=LAST_YEAR.isoformat()), "refunded_at"),
        (row(member_id, paid_at=None, refunded_at=LAST_YEAR.isoformat()), "refunded_at"),
        (row(member_id, refunded_at=(LAST_YEAR + timedelta(days=1)).isoformat(), refund_fen=11_801), "refund_fen"),
        (
            row(member_id, discount_fen=2000, refunded_at=(LAST_YEAR + timedelta(days=1)).isoformat(), refund_fen=9801),
            "refund_fen",
        ),
        (row(member_id, refund_fen=100), "refund_fen"),
        (row(member_id, discount_fen=11_801), "discount_fen"),
        (row(member_id, discount_fen=11_800, refunded_at=(LAST_YEAR + timedelta(days=1)).isoformat()), "refunded_at"),
        (row(member_id, items=[{"product_id": "a", "quantity": 1, "unit_price_fen": -1}]), "items.0.unit_price_fen"),
        (row(member_id, items=[{"product_id": "a", "quantity": 10_000, "unit_price_fen": 10**12}]), "items"),
        (row(member_id, items=[]), "items"),
        (row(member_id, discount_fen=1.5), "discount_fen"),
        (row(member_id, placed_at="2025-06-18T20:41:00"), "placed_at"),
        (row(member_id) | {"merchant_order_id": ""}, "merchant_order_id"),
        (row(member_id, surprise=1), "surprise"),
        ({k: v for k, v in row(member_id).items() if k != "member_id"}, "member_id"),
        (row(member_id) | {"member_id": "nope"}, "member_id"),
    ]


@pytest.mark.parametrize("case", range(len(bad_rows(uuid.uuid4()))))
async def test_a_bad_row_fails_alone_writes_nothing_and_the_rest_land(world: World, case: int) -> None:
    member_id = await world.member()
    bad, field = bad_rows(member_id)[case]
    batch = await import_rows(world, row(member_id, "TB-good-1"), bad, row(member_id, "TB-good-2"))
    assert [r.outcome for r in batch.results] == ["created", "failed", "created"]
    assert field in [problem.field for problem in batch.results[1].problems], batch.results[1].problems
    assert await orders_in(world) == 2
    assert {e.data.order_id for e in await world.envelopes() if e.type.startswith("order.")} == {  # type: ignore[attr-defined]
        batch.results[0].id,
        batch.results[2].id,
    }


async def test_orders_of_an_erased_member_or_another_tenants_are_refused(world: World) -> None:
    erased, foreign, kept = await world.member(), await world.member(tenant_id="tenant-b"), await world.member()
    await world.deliver("member-svc", MemberErasedV1(member_id=erased))
    batch = await import_rows(world, row(erased), row(foreign), row(kept))
    assert [r.outcome for r in batch.results] == ["failed", "failed", "created"]
    assert [r.problems[0].field for r in batch.results[:2]] == ["member_id", "member_id"]
    assert "erased" in batch.results[0].problems[0].message
    assert await orders_in(world) == 1


async def test_imported_orders_touch_nothing_live(world: World) -> None:
    member_id = await world.member()
    coupon_campaign = await world.campaign(budget_fen=10_000)
    template = await world.template(coupon_campaign)
    coupon = await coupons.issue(
        session=world.session,
        outbox=world.outbox,
        tenant_id=TENANT,
        template_id=template.id,
        member_id=member_id,
        source="gift",
        now=NOW,
    )
    sale = await world.campaign(
        "flash_sale", settings={"product_id": "sku-oat-1kg", "price_fen": 990, "stock": 5, "per_member_limit": 1}
    )
    budget, campaign_id = (coupon_campaign.committed_fen, coupon_campaign.spent_fen), coupon_campaign.id
    sale_id = sale.id
    quotas = await world.session.scalar(select(func.count()).select_from(MemberQuota))
    await import_rows(
        world,
        row(member_id, coupon_code=str(coupon.id), discount_fen=2000),
        row(member_id, items=[{"product_id": "sku-oat-1kg", "quantity": 3, "unit_price_fen": 990}]),
    )
    coupon_id = coupon.id
    world.session.expire_all()
    assert (await world.session.get_one(Coupon, coupon_id)).status == "issued"
    campaign = await world.session.get_one(Campaign, campaign_id)
    assert (campaign.committed_fen, campaign.spent_fen) == budget
    sold = await world.session.scalar(select(func.sum(CampaignStock.sold)).where(CampaignStock.campaign_id == sale_id))
    assert sold == 0
    assert await world.session.scalar(select(func.count()).select_from(MemberQuota)) == quotas
    assert await world.events("coupon.redeemed") == []
    report = await campaigns.report_of(session=world.session, tenant_id=TENANT, campaign_id=campaign_id)
    assert (report.orders, report.gmv_fen) == (0, 0)


@pytest_asyncio.fixture
async def client(world: World) -> AsyncIterator[httpx.AsyncClient]:
    caller = Identity(tenant_id=TENANT, principal="test")
    async with routes_client(world.session, [router], lambda: caller, OUTBOX) as http:
        yield http


async def test_the_route_answers_each_row_and_lists_imported_orders_like_live_ones(
    world: World, client: httpx.AsyncClient
) -> None:
    member_id = await world.member()
    answer = await client.post(
        "/campaigns/orders/history", json={"orders": [row(member_id, "TB-1"), row(member_id, paid_at="soon")]}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["created"], body["unchanged"], body["failed"]) == (1, 0, 1)
    assert body["results"][1]["problems"][0]["field"] == "paid_at"
    listed = (await client.get("/campaigns/orders", params={"member_id": str(member_id)})).json()["orders"]
    assert [(o["id"], o["merchant_order_id"], o["imported"]) for o in listed] == [
        (body["results"][0]["id"], "TB-1", True)
    ]
    read = (await client.get(f"/campaigns/orders/{body['results'][0]['id']}")).json()
    assert (read["status"], datetime.fromisoformat(read["placed_at"])) == ("paid", LAST_YEAR)
    for bad in ({"orders": []}, {"orders": [row(member_id)] * 1001}, {"orders": "TB-1"}, {}):
        refused = await client.post("/campaigns/orders/history", json=bad)
        assert (refused.status_code, refused.headers["content-type"]) == (422, "application/problem+json")
    assert await orders_in(world) == 1
