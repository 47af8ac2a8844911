"""Events announcing imported history are facts, not news: the member projection takes them (join date,
inviter, engagement), while automation rules, referral rewards and merchant notices stay quiet about them."""

import uuid
from datetime import timedelta
from typing import Any

import pytest

from campaign_svc.automation import service as automation
from campaign_svc.automation.schemas import PlaybookCreate, RuleCreate
from campaign_svc.handlers import HANDLERS
from campaign_svc.members import service as members
from campaign_svc.orders import history
from campaign_svc.orders import service as orders
from campaign_svc.orders.schemas import OrderCreate
from qunyun_shared.events.content import ContentEngagedV1
from qunyun_shared.events.member import MemberConsentChangedV1, MemberJoinedV1

from .conftest import NOW, OUTBOX, TENANT, World

pytestmark = pytest.mark.unit

REFERRAL = {"join_reward": {"points": 100}, "first_order_reward": {"points": 300}, "max_rewards_per_inviter": 10}
# Recent history: within the referral campaign's window, so only the imported marker can keep it quiet.
YESTERDAY = NOW - timedelta(days=1)
ITEMS = [{"product_id": "sku-1", "quantity": 1, "unit_price_fen": 9900}]


async def running_programmes(world: World) -> None:
    """A welcome pack for first joins and a referral campaign, both running for a month."""
    month_ago = NOW - timedelta(days=30)
    welcome = await world.template(await world.campaign("welcome_pack", starts_at=month_ago, budget_fen=100_000))
    await automation.create_playbook(
        session=world.session,
        tenant_id=TENANT,
        playbook="welcome_pack",
        body=PlaybookCreate(coupon_template_id=welcome.id),
    )
    await world.campaign("referral", starts_at=month_ago, settings=REFERRAL)


async def newcomer(world: World, inviter_id: uuid.UUID, *, imported: bool) -> uuid.UUID:
    """A consenting member joining by invitation yesterday, as a live or an imported member.joined says."""
    member_id = uuid.uuid4()
    consent = MemberConsentChangedV1(member_id=member_id, purpose="marketing", granted=True, source="test")
    await world.deliver("member-svc", consent)
    joined = MemberJoinedV1(
        member_id=member_id, community_id=uuid.uuid4(), channel="invite", inviter_id=inviter_id, joined_at=YESTERDAY
    )
    await world.deliver("member-svc", joined, imported=imported)
    return member_id


async def rewards_of(world: World, member_id: uuid.UUID) -> list[Any]:
    return [(g.points, g.reason) for g in await world.events("reward.granted") if g.member_id == member_id]


async def coupons_to(world: World, member_id: uuid.UUID) -> int:
    return len([c for c in await world.events("coupon.issued") if c.member_id == member_id])


async def test_an_imported_join_with_an_inviter_fires_no_welcome_pack_and_no_referral_reward(world: World) -> None:
    await running_programmes(world)
    inviter, other_inviter = await world.member(), await world.member()
    historical = await newcomer(world, inviter, imported=True)
    live = await newcomer(world, other_inviter, imported=False)

    assert (await coupons_to(world, historical), await rewards_of(world, inviter)) == (0, [])
    assert (await coupons_to(world, live), await rewards_of(world, other_inviter)) == (1, [(100, "referral_join")])
    # The projection still keeps what the imported join says.
    member = await members.get_member(session=world.session, tenant_id=TENANT, member_id=historical)
    assert (member.inviter_id, member.first_joined_at, member.communities_joined) == (inviter, YESTERDAY, 1)
    runs, _ = await automation.runs_of(session=world.session, tenant_id=TENANT, member_id=historical, limit=10)
    assert runs == []  # not even evaluated


async def test_an_imported_first_paid_order_rewards_no_inviter(world: World) -> None:
    await running_programmes(world)
    inviter = await world.member()
    historical, live = await world.member(inviter_id=inviter), await world.member(inviter_id=inviter)
    row = {
        "merchant_order_id": "TB-1",
        "member_id": str(historical),
        "placed_at": YESTERDAY.isoformat(),
        "paid_at": YESTERDAY.isoformat(),
        "items": ITEMS,
    }
    await history.import_orders(session=world.session, outbox=world.outbox, tenant_id=TENANT, rows=[row])
    order = await orders.place(
        session=world.session,
        outbox=world.outbox,
        tenant_id=TENANT,
        order_in=OrderCreate.model_validate({"member_id": live, "items": ITEMS, "paid_at": NOW.isoformat()}),
        now=NOW,
    )
    # Each order's events handed to the consumer's handlers, the imported ones as the bus marks them.
    for envelope in await world.envelopes():
        if envelope.type in ("order.placed", "order.paid"):
            await HANDLERS[envelope.type](world.session, OUTBOX, [envelope])

    first_orders = [r for r in await rewards_of(world, inviter) if r[1] == "referral_first_order"]
    assert first_orders == [(300, "referral_first_order")]  # the live order's, only
    [live_reward] = [g for g in await world.events("reward.granted") if g.reason == "referral_first_order"]
    assert live_reward.member_id == inviter and order.member_id == live


async def test_imported_engagement_is_counted_but_sets_off_no_rule_nor_notice(world: World) -> None:
    rule_in = RuleCreate(
        name="活跃提醒", trigger="content.engaged", actions=[{"type": "notify_merchant", "message": "engaged"}]
    )
    await automation.create_rule(session=world.session, tenant_id=TENANT, rule_in=rule_in)
    member_id = await world.member()
    recent = ContentEngagedV1(content_id=uuid.uuid4(), member_id=member_id, action="like", occurred_at=NOW)
    old = ContentEngagedV1(content_id=uuid.uuid4(), member_id=member_id, action="like", occurred_at=YESTERDAY)
    await world.deliver("content-svc", recent)
    await world.deliver("content-svc", old, imported=True)
    member = await members.get_member(session=world.session, tenant_id=TENANT, member_id=member_id)
    await world.session.refresh(member)
    # Counted, and the latest engagement stays the last although the older one arrived after it.
    assert (member.engagements, member.last_engaged_at) == (2, NOW)
    assert len(await world.events("merchant.notified")) == 1  # the live one's


async def test_an_earlier_join_arriving_later_gives_the_member_their_first_join(world: World) -> None:
    member_id, live_inviter, first_inviter = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    live = MemberJoinedV1(
        member_id=member_id, community_id=uuid.uuid4(), channel="invite", inviter_id=live_inviter, joined_at=NOW
    )
    imported = MemberJoinedV1(
        member_id=member_id,
        community_id=uuid.uuid4(),
        channel="invite",
        inviter_id=first_inviter,
        joined_at=NOW - timedelta(days=400),
    )
    await world.deliver("member-svc", live)
    await world.deliver("member-svc", imported, imported=True)
    member = await members.get_member(session=world.session, tenant_id=TENANT, member_id=member_id)
    await world.session.refresh(member)
    assert (member.first_joined_at, member.inviter_id, member.communities_joined) == (
        imported.joined_at,
        first_inviter,
        2,
    )
