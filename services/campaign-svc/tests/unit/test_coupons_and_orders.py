"""Coupons and orders: stock, limits and budget hold; a coupon is redeemed once, on its terms; orders
move placed -> paid -> refunded or placed -> cancelled, each step a fact; nothing is half-written."""

import uuid
from datetime import timedelta

import pytest

from campaign_svc.campaigns import service as campaigns
from campaign_svc.coupons import service as coupons
from campaign_svc.exceptions import (
    BudgetExhausted,
    CampaignNotFound,
    CouponLimitReached,
    CouponNotFound,
    CouponNotRedeemable,
    CouponOutOfStock,
    MemberNotFound,
    OrderAlreadyPushed,
    OrderStateConflict,
    RefundTooLarge,
)
from campaign_svc.orders import service as orders
from campaign_svc.orders.schemas import OrderCreate
from qunyun_shared.events.member import MemberErasedV1

from .conftest import NOW, TENANT, World

pytestmark = pytest.mark.unit


def order_of(member_id: uuid.UUID, total_fen: int = 10_000, **fields: object) -> OrderCreate:
    items = [{"product_id": "sku-1", "quantity": 2, "unit_price_fen": total_fen // 2}]
    return OrderCreate.model_validate({"member_id": member_id, "items": items, **fields})


async def place(world: World, member_id: uuid.UUID, **fields: object):  # type: ignore[no-untyped-def]
    total = fields.pop("total_fen", 10_000)
    return await orders.place(
        session=world.session,
        outbox=world.outbox,
        tenant_id=TENANT,
        order_in=order_of(member_id, total, **fields),  # type: ignore[arg-type]
        now=NOW,
    )


async def issue(world: World, template_id: uuid.UUID, member_id: uuid.UUID, source: str | None = None):  # type: ignore[no-untyped-def]
    source = source or str(uuid.uuid4())
    return await coupons.issue(
        session=world.session,
        outbox=world.outbox,
        tenant_id=TENANT,
        template_id=template_id,
        member_id=member_id,
        source=source,
        now=NOW,
    )


async def test_stock_and_the_member_limit_hold_and_a_repeated_cause_issues_once(world: World) -> None:
    campaign = await world.campaign()
    template = await world.template(campaign, total_stock=2, per_member_limit=1)
    alice, bob, carol = [await world.member() for _ in range(3)]
    first = await issue(world, template.id, alice, "welcome:alice")
    assert (await issue(world, template.id, first.member_id, "welcome:alice")).id == first.id
    with pytest.raises(CouponLimitReached):
        await issue(world, template.id, first.member_id)
    await issue(world, template.id, bob)
    with pytest.raises(CouponOutOfStock):
        await issue(world, template.id, carol)
    assert len(await world.events("coupon.issued")) == 2


async def test_issuing_stops_when_the_budget_could_not_cover_the_coupons_out(world: World) -> None:
    campaign = await world.campaign(budget_fen=5_000)
    template = await world.template(campaign, amount_off_fen=2_000, per_member_limit=5)
    member_id = await world.member()
    await issue(world, template.id, member_id)
    await issue(world, template.id, member_id)
    with pytest.raises(BudgetExhausted):
        await issue(world, template.id, member_id)
    report = await campaigns.report_of(session=world.session, tenant_id=TENANT, campaign_id=campaign.id)
    assert (report.committed_fen, report.cost_fen, report.remaining_fen) == (4_000, 0, 1_000)


async def test_a_coupon_is_redeemed_once_on_its_terms_and_counts_as_cost(world: World) -> None:
    campaign = await world.campaign(budget_fen=100_000)
    template = await world.template(
        campaign, discount="percent_off", percent_off=30, max_discount_fen=2_500, min_spend_fen=5_000
    )
    member_id = await world.member()
    coupon = await issue(world, template.id, member_id)
    with pytest.raises(CouponNotRedeemable, match="at least 5000"):
        await place(world, member_id, total_fen=4_000, coupon_id=coupon.id)
    order = await place(world, member_id, total_fen=10_000, coupon_id=coupon.id)
    assert (order.subtotal_fen, order.discount_fen, order.amount_fen) == (10_000, 2_500, 7_500)  # 30% capped
    assert order.campaign_id == campaign.id
    with pytest.raises(CouponNotRedeemable, match="redeemed already"):
        await place(world, member_id, coupon_id=coupon.id)
    [placed] = await world.events("order.placed")
    [redeemed] = await world.events("coupon.redeemed")
    assert placed.attribution.coupon_id == coupon.id and redeemed.discount_fen == 2_500
    report = await campaigns.report_of(session=world.session, tenant_id=TENANT, campaign_id=campaign.id)
    assert (report.cost_fen, report.committed_fen) == (2_500, 2_500)


async def test_foreign_expired_and_first_order_coupons_are_refused(world: World) -> None:
    campaign = await world.campaign()
    member_id, other = await world.member(), await world.member()
    coupon = await issue(world, (await world.template(campaign)).id, member_id)
    with pytest.raises(CouponNotRedeemable, match="another member"):
        await place(world, other, coupon_id=coupon.id)
    foreign_member = await world.member(tenant_id="tenant-b")
    foreign_order = order_of(foreign_member, coupon_id=coupon.id)
    with pytest.raises(CouponNotFound):
        await orders.place(
            session=world.session, outbox=world.outbox, tenant_id="tenant-b", order_in=foreign_order, now=NOW
        )
    coupon.expires_at = NOW - timedelta(seconds=1)
    with pytest.raises(CouponNotRedeemable, match="expired"):
        await place(world, member_id, coupon_id=coupon.id)
    first_order = await world.template(campaign, first_order_only=True)
    newcomer = await world.member()
    await place(world, newcomer)
    with pytest.raises(CouponNotRedeemable, match="first order"):
        await place(world, newcomer, coupon_id=(await issue(world, first_order.id, newcomer)).id)


async def test_cancelling_an_unpaid_order_gives_its_coupon_and_cost_back(world: World) -> None:
    campaign = await world.campaign(budget_fen=10_000)
    member_id = await world.member()
    coupon = await issue(world, (await world.template(campaign, amount_off_fen=2_000)).id, member_id)
    order = await place(world, member_id, coupon_id=coupon.id)
    await orders.cancel(session=world.session, order=order, now=NOW)
    await world.session.refresh(coupon)
    assert coupon.status == "issued"
    report = await campaigns.report_of(session=world.session, tenant_id=TENANT, campaign_id=campaign.id)
    assert (report.cost_fen, report.committed_fen) == (0, 2_000)
    with pytest.raises(OrderStateConflict):
        await orders.pay(session=world.session, outbox=world.outbox, order=order, at=NOW)
    again = await place(world, member_id, coupon_id=coupon.id)
    assert again.discount_fen == 2_000


async def test_expired_coupons_release_their_budget(world: World) -> None:
    campaign = await world.campaign(budget_fen=2_000)
    template = await world.template(campaign, amount_off_fen=2_000, per_member_limit=3)
    member_id = await world.member()
    await issue(world, template.id, member_id)
    assert await coupons.expire_due(session=world.session, now=NOW + timedelta(days=8)) == 1
    await issue(world, template.id, member_id)  # the budget is free again


async def test_a_campaign_whose_cost_reaches_its_budget_ends(world: World) -> None:
    campaign = await world.campaign(budget_fen=2_000)
    member_id = await world.member()
    coupon = await issue(world, (await world.template(campaign, amount_off_fen=2_000)).id, member_id)
    await place(world, member_id, coupon_id=coupon.id)
    await world.session.refresh(campaign)
    assert (campaign.status, campaign.ended_reason) == ("ended", "budget_spent")
    [ended] = await world.events("campaign.ended")
    assert ended.reason == "budget_spent"


async def test_paying_refunding_and_the_report_of_gmv_and_roi(world: World) -> None:
    campaign = await world.campaign()
    member_id = await world.member()
    coupon = await issue(world, (await world.template(campaign, amount_off_fen=1_000)).id, member_id)
    order = await place(world, member_id, total_fen=11_000, coupon_id=coupon.id)
    await orders.pay(session=world.session, outbox=world.outbox, order=order, at=NOW)
    await orders.refund(
        session=world.session, outbox=world.outbox, order=order, amount_fen=4_000, reason="one broken", now=NOW
    )
    assert order.status == "partially_refunded"
    with pytest.raises(RefundTooLarge):
        await orders.refund(
            session=world.session, outbox=world.outbox, order=order, amount_fen=6_001, reason="too much", now=NOW
        )
    await orders.refund(
        session=world.session, outbox=world.outbox, order=order, amount_fen=None, reason="the rest", now=NOW
    )
    assert (order.status, order.refunded_fen) == ("refunded", 10_000)
    assert [r.amount_fen for r in await world.events("order.refunded")] == [4_000, 6_000]
    second = await place(world, member_id, total_fen=6_000, attribution={"campaign_id": campaign.id})
    await orders.pay(session=world.session, outbox=world.outbox, order=second, at=NOW)
    report = await campaigns.report_of(session=world.session, tenant_id=TENANT, campaign_id=campaign.id)
    assert (report.orders, report.gmv_fen, report.cost_fen, report.roi) == (2, 6_000, 1_000, 5.0)


async def test_a_pushed_paid_order_is_placed_and_paid_and_a_repeated_push_answers_it(world: World) -> None:
    member_id = await world.member()
    order = await place(world, member_id, merchant_order_id="shop-42", paid_at=NOW.isoformat())
    assert (order.status, order.merchant_order_id, order.imported) == ("paid", "shop-42", False)
    again = await place(world, member_id, merchant_order_id="shop-42", paid_at=NOW.isoformat())
    assert again.id == order.id
    assert await place(world, member_id, merchant_order_id="shop-42") is order  # its payment not repeated
    for other in ({"total_fen": 20_000}, {"paid_at": (NOW - timedelta(hours=1)).isoformat()}):
        with pytest.raises(OrderAlreadyPushed, match=str(order.id)):
            await place(world, member_id, merchant_order_id="shop-42", **other)
    with pytest.raises(OrderAlreadyPushed, match=str(order.id)):
        await place(world, await world.member(), merchant_order_id="shop-42")
    assert [p.order_id for p in await world.events("order.placed")] == [order.id]
    assert [p.order_id for p in await world.events("order.paid")] == [order.id]


async def test_orders_need_a_known_member_and_the_tenants_own_campaign(world: World) -> None:
    with pytest.raises(MemberNotFound):
        await place(world, uuid.uuid4())
    foreign = await world.campaign(tenant_id="tenant-b")
    with pytest.raises(CampaignNotFound):
        await place(world, await world.member(), attribution={"campaign_id": foreign.id})
    assert await world.events("order.placed") == []


async def test_coupons_go_only_to_the_tenants_known_members(world: World) -> None:
    template = await world.template(await world.campaign())
    outsider, erased = await world.member(tenant_id="tenant-b"), await world.member()
    await world.deliver("member-svc", MemberErasedV1(member_id=erased))
    for member_id in (uuid.uuid4(), outsider, erased):
        with pytest.raises(MemberNotFound):
            await issue(world, template.id, member_id)
    assert await world.events("coupon.issued") == []


@pytest.mark.parametrize(
    "bad",
    [
        {"items": []},
        {"items": [{"product_id": "a", "quantity": 1, "unit_price_fen": -1}]},
        {"items": [{"product_id": "a", "quantity": 0, "unit_price_fen": 1}]},
        {"items": [{"product_id": "a", "quantity": 10_000, "unit_price_fen": 10**12}]},
        {"items": [{"product_id": "a", "quantity": 1, "unit_price_fen": 1.5}]},
        {"items": [{"product_id": "a", "quantity": 1, "unit_price_fen": 1}], "surprise": 1},
    ],
)
def test_negative_overflowing_or_malformed_orders_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        OrderCreate.model_validate({"member_id": str(uuid.uuid4()), **bad})
