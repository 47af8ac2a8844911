"""Flash sales, group-buys and referral rewards."""

import uuid
from datetime import timedelta

import pytest

from campaign_svc.campaigns.models import Campaign
from campaign_svc.exceptions import (
    AlreadyInTeam,
    CampaignNotFound,
    CampaignNotRunning,
    PurchaseLimitReached,
    SoldOut,
    TeamClosed,
)
from campaign_svc.flash_sales import service as flash_sales
from campaign_svc.group_buys import service as group_buys
from campaign_svc.group_buys.models import Team
from campaign_svc.members.models import Member
from campaign_svc.orders import service as orders
from campaign_svc.orders.models import Order
from campaign_svc.orders.schemas import OrderItem
from campaign_svc.referrals import service as referrals
from qunyun_shared.events.campaign import OrderPaidV1

from .conftest import NOW, TENANT, World

pytestmark = pytest.mark.unit

FLASH = {"product_id": "sku-1", "price_fen": 990, "stock": 3, "per_member_limit": 2}


async def buy(world: World, sale: Campaign, member_id: uuid.UUID, quantity: int = 1):  # type: ignore[no-untyped-def]
    return await flash_sales.buy(
        session=world.session,
        outbox=world.outbox,
        tenant_id=TENANT,
        campaign_id=sale.id,
        member_id=member_id,
        quantity=quantity,
        now=NOW,
    )


async def test_a_flash_sale_sells_its_stock_at_its_price_and_no_more(world: World) -> None:
    sale = await world.campaign("flash_sale", settings=FLASH)
    alice, bob, carol = [await world.member() for _ in range(3)]
    order = await buy(world, sale, alice, 2)
    assert (order.amount_fen, order.campaign_id, order.status) == (1_980, sale.id, "placed")
    with pytest.raises(PurchaseLimitReached):
        await buy(world, sale, alice)
    with pytest.raises(SoldOut):
        await buy(world, sale, bob, 2)  # one unit is left: not sold out yet
    assert not flash_sales.SOLD_OUT.sold_out(sale.id, TENANT)
    await buy(world, sale, bob)
    with pytest.raises(SoldOut):
        await buy(world, sale, carol)
    assert flash_sales.SOLD_OUT.sold_out(sale.id, TENANT)  # the gate refuses the next attempts
    stock = await flash_sales.stock_of(session=world.session, tenant_id=TENANT, campaign_id=sale.id)
    assert (stock.sold, stock.total) == (3, 3)


async def test_a_cancelled_flash_order_returns_its_units_and_the_members_share(world: World) -> None:
    sale = await world.campaign("flash_sale", settings=FLASH)
    alice, bob = await world.member(), await world.member()
    order = await buy(world, sale, alice, 2)
    await buy(world, sale, bob)
    await orders.cancel(session=world.session, order=order, now=NOW)
    await buy(world, sale, alice, 2)  # units and the limit are free again
    with pytest.raises(SoldOut):
        await buy(world, sale, bob)


async def test_a_flash_sale_only_sells_in_its_window(world: World) -> None:
    later = await world.campaign("flash_sale", settings=FLASH, starts_at=NOW + timedelta(hours=1))
    with pytest.raises(CampaignNotRunning):
        await buy(world, later, await world.member())
    coupon_campaign = await world.campaign("coupon")
    with pytest.raises(CampaignNotFound):
        await buy(world, coupon_campaign, await world.member())


GROUP = {"product_id": "sku-2", "price_fen": 5_900, "team_size": 3, "time_limit_minutes": 60}


async def open_team(world: World, campaign: Campaign, member_id: uuid.UUID) -> tuple[Team, Order]:
    return await group_buys.open_team(
        session=world.session,
        outbox=world.outbox,
        tenant_id=TENANT,
        campaign_id=campaign.id,
        member_id=member_id,
        now=NOW,
    )


async def join_team(world: World, team: Team, member_id: uuid.UUID) -> tuple[Team, Order]:
    return await group_buys.join_team(
        session=world.session,
        outbox=world.outbox,
        tenant_id=TENANT,
        campaign_id=team.campaign_id,
        team_id=team.id,
        member_id=member_id,
        now=NOW,
    )


async def test_a_full_team_completes_and_says_so(world: World) -> None:
    campaign = await world.campaign("group_buy", settings=GROUP)
    leader, second, third, late = [await world.member() for _ in range(4)]
    team, _ = await open_team(world, campaign, leader)
    await join_team(world, team, second)
    with pytest.raises(AlreadyInTeam):
        await join_team(world, team, second)
    team, order = await join_team(world, team, third)
    assert (team.status, team.joined, order.amount_fen) == ("completed", 3, 5_900)
    [completed] = await world.events("groupbuy.completed")
    assert set(completed.member_ids) == {leader, second, third}
    with pytest.raises(TeamClosed):
        await join_team(world, team, late)


async def test_an_expired_team_cancels_unpaid_orders_and_refunds_paid_ones(world: World) -> None:
    campaign = await world.campaign("group_buy", settings=GROUP)
    leader, second = await world.member(), await world.member()
    team, paid = await open_team(world, campaign, leader)
    await orders.pay(session=world.session, outbox=world.outbox, order=paid, at=NOW)
    _, unpaid = await join_team(world, team, second)
    assert await group_buys.expire_due(session=world.session, outbox=world.outbox, now=NOW + timedelta(minutes=59)) == 0
    assert await group_buys.expire_due(session=world.session, outbox=world.outbox, now=NOW + timedelta(minutes=61)) == 1
    assert (paid.status, unpaid.status) == ("refunded", "cancelled")
    assert [r.order_id for r in await world.events("order.refunded")] == [paid.id]
    seats = await group_buys.seats_of(session=world.session, team_id=team.id)
    assert len(seats) == 2  # the record of who was in it stays


REFERRAL = {"join_reward": {"points": 100}, "first_order_reward": {"points": 300}, "max_rewards_per_inviter": 2}


async def paid_order(world: World, member_id: uuid.UUID):  # type: ignore[no-untyped-def]
    order = await orders.record(
        session=world.session,
        outbox=world.outbox,
        tenant_id=TENANT,
        member_id=member_id,
        pricing=orders.Pricing(items=[OrderItem(product_id="a", quantity=1, unit_price_fen=100)]),
        now=NOW,
    )
    await orders.pay(session=world.session, outbox=world.outbox, order=order, at=NOW)
    paid = OrderPaidV1(order_id=order.id, member_id=member_id, amount_fen=100, paid_at=NOW)
    await world.deliver("campaign-svc", paid)
    return order


async def test_the_inviter_is_rewarded_for_the_join_and_the_first_order_once(world: World) -> None:
    campaign = await world.campaign("referral", settings=REFERRAL)
    inviter = await world.member()
    invitee = await world.member(inviter_id=inviter)
    await paid_order(world, invitee)
    await paid_order(world, invitee)  # a second order rewards nothing
    granted = await world.events("reward.granted")
    assert [(g.member_id, g.points, g.reason) for g in granted] == [
        (inviter, 100, "referral_join"),
        (inviter, 300, "referral_first_order"),
    ]
    rewards = await referrals.rewards_of(session=world.session, campaign=campaign, inviter_id=inviter)
    assert {(r.stage, r.outcome) for r in rewards} == {("join", "rewarded"), ("first_order", "rewarded")}


async def test_rewards_stop_at_the_cap_and_never_go_round_a_cycle(world: World) -> None:
    campaign = await world.campaign("referral", settings=REFERRAL)
    inviter = await world.member()
    for _ in range(3):
        await world.member(inviter_id=inviter)
    outcomes = sorted(
        r.outcome for r in await referrals.rewards_of(session=world.session, campaign=campaign, inviter_id=inviter)
    )
    assert outcomes == ["capped", "rewarded", "rewarded"]
    # A member whose invitation chain leads back to the invitee: B invited by A, then A "invited" by B.
    a = await world.member()
    b = await world.member(inviter_id=a)
    await world.member(inviter_id=b)  # fine: C under B
    member_a = await world.session.get(Member, a)
    assert member_a is not None
    member_a.inviter_id = b  # a corrupted chain as only a bug elsewhere could make it
    await world.session.flush()
    await paid_order(world, a)
    cycle = [
        r
        for r in await referrals.rewards_of(session=world.session, campaign=campaign, inviter_id=b)
        if r.invitee_id == a
    ]
    assert [r.outcome for r in cycle] == ["cycle"]
