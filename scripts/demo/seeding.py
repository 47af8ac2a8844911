"""The demo brand through the public API: its communities, its members with their joins and leaves, its
campaigns, coupons and automation rules, and the items it published (`the_brand`); then what members did
before today, through the history imports (`the_past`); and the consents they gave."""

import asyncio
from dataclasses import dataclass, field
from typing import Any

from demo.client import Api, eventually
from demo.life import CHECKIN_DAYS, CHECKIN_START, MEMBER_DAY_COUPON
from demo.population import REFERRAL_CAMPAIGN_DAYS
from demo.world import Member, Order, Post, World, iso


@dataclass
class Ids:
    """The platform's ids of what the demo made, by the merchant's own ids."""

    communities: dict[str, str] = field(default_factory=dict)
    members: dict[str, str] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)
    campaigns: dict[str, str] = field(default_factory=dict)
    templates: dict[str, str] = field(default_factory=dict)


async def the_brand(api: Api, world: World) -> Ids:
    """The brand as it stands: its communities, its members with their joins and leaves, its campaigns and
    rules, and the content it published."""
    ids = Ids()
    for community in world.communities:
        body = {
            "name": community.name,
            "kind": community.kind,
            "tier": community.tier,
            "capacity": community.capacity,
            "opened_at": iso(world.calendar.at(community.opened_day, 9)),
        }
        ids.communities[community.key] = (await api.post("/communities", body))["id"]
    members = world.history_members
    rows = [_member_row(member, ids) for member in members]
    api.say(f"{len(world.communities)} communities opened")
    for merchant_id, member_id in zip(
        (m.merchant_id for m in members), await api.history("/members/history", "members", rows), strict=True
    ):
        ids.members[merchant_id] = member_id
    api.say(f"{len(members):,} members joined their communities over 120 days")
    await _campaigns(api, world, ids)
    api.say("campaigns, coupons and automation rules set")
    await _items(api, world, ids)
    await _known_to_campaigns(api, members, ids)
    return ids


async def the_past(api: Api, world: World, ids: Ids) -> None:
    """What members did before today: reads and reactions, posts, orders, check-ins."""
    await asyncio.gather(_engagement(api, world, ids), _campaign_history(api, world, ids))


async def _campaign_history(api: Api, world: World, ids: Ids) -> None:
    """Orders, then check-ins: one after the other, into campaign-svc's one database."""
    await _orders(api, world, ids)
    api.say(f"{len(world.orders):,} orders placed, paid and some refunded")
    await _checkins(api, world, ids)
    api.say(f"{len(world.checkins):,} check-ins of the 21-day challenge")


def _member_row(member: Member, ids: Ids) -> dict[str, Any]:
    return {
        "merchant_member_id": member.merchant_id,
        "nickname": member.nickname,
        **member.profile,
        "memberships": [
            {
                "community_id": ids.communities[m.community],
                "joined_at": iso(m.joined_at),
                "channel": m.channel,
                "inviter_merchant_member_id": m.inviter,
                "left_at": None if m.left_at is None else iso(m.left_at),
            }
            for m in member.memberships
        ],
    }


async def consents(api: Api, world: World, ids: Ids) -> None:
    """Marketing consent, as those who gave it gave it at sign-up: what lets the win-back reach them."""
    members = [m for m in world.history_members if m.marketing_consent]
    body = {"purpose": "marketing", "granted": True, "source": "小程序注册页"}
    await api.each(api.post(f"/members/{ids.members[m.merchant_id]}/consents", body) for m in members)
    api.say(f"{len(members)} consents to marketing")


async def consents_known(api: Api, world: World, ids: Ids) -> None:
    """Waits until campaign-svc knows who consented: no churn warning should reach it before the consent."""
    members = [m for m in world.history_members if m.marketing_consent]

    async def known() -> None:
        for member in members[-1:] + members[:: max(1, len(members) // 5)]:
            seen = await api.get(f"/campaigns/members/{ids.members[member.merchant_id]}")
            assert seen["marketing_consent"], f"campaign-svc does not know {member.merchant_id} consents yet"

    await eventually(known, what="campaign-svc learning of the consents", timeout=120)


async def _campaigns(api: Api, world: World, ids: Ids) -> None:
    """The brand's running campaigns, their coupons, and the welcome and win-back rules."""
    calendar = world.calendar

    async def campaign(key: str, kind: str, name: str, **body: Any) -> str:
        ids.campaigns[key] = (await api.post("/campaigns", {"kind": kind, "name": name, **body}))["id"]
        return ids.campaigns[key]

    async def template(key: str, campaign_id: str, name: str, **terms: Any) -> str:
        body = {"campaign_id": campaign_id, "name": name, "discount": "amount_off", **terms}
        ids.templates[key] = (await api.post("/campaigns/coupon-templates", body))["id"]
        return ids.templates[key]

    member_day = await campaign("member_day", "member_day", "周三会员日", starts_at=iso(calendar.at(0, 9)))
    _, minimum, off = MEMBER_DAY_COUPON
    await template(
        "member_day",
        member_day,
        f"会员日满{minimum // 100}减{off // 100}",
        amount_off_fen=off,
        min_spend_fen=minimum,
        valid_days=7,
    )
    running = ids.communities["running"]
    milestones = [
        {"day": 7, "reward": {"points": 50}},
        {"day": 14, "reward": {"points": 100}},
        {"day": 21, "reward": {"points": 300, "tag": "早起达人"}},
    ]
    await campaign(
        "checkin",
        "checkin",
        "21天晨跑打卡挑战",
        community_id=running,
        starts_at=iso(calendar.at(CHECKIN_START, 0)),
        ends_at=iso(calendar.at(CHECKIN_START + 45, 0)),
        settings={"days": CHECKIN_DAYS, "milestones": milestones},
    )
    await campaign(
        "referral",
        "referral",
        "邀请好友入群有礼",
        starts_at=iso(calendar.at(REFERRAL_CAMPAIGN_DAYS[0], 0)),
        ends_at=iso(calendar.at(REFERRAL_CAMPAIGN_DAYS[1], 0)),
        budget_fen=2_000_000,
        settings={"join_reward": {"points": 20}, "max_rewards_per_inviter": 10},
    )
    welcome = await campaign("welcome", "welcome_pack", "新人入群礼", starts_at=iso(calendar.at(0, 9)))
    await template("welcome", welcome, "新人5元无门槛券", amount_off_fen=500, valid_days=14)
    await api.post(
        "/campaigns/automations/playbooks/welcome_pack", {"coupon_template_id": ids.templates["welcome"], "points": 20}
    )
    win_back = await campaign(
        "win_back", "win_back", "老客回归礼", starts_at=iso(calendar.at(0, 9)), budget_fen=500_000
    )
    await template("win_back", win_back, "回归礼满59减15", amount_off_fen=1_500, min_spend_fen=5_900, valid_days=14)
    await api.post(
        "/campaigns/automations/playbooks/win_back", {"coupon_template_id": ids.templates["win_back"], "points": 50}
    )


async def _known_to_campaigns(api: Api, members: list[Member], ids: Ids) -> None:
    """Waits until campaign-svc has heard of the members joining (the last of each thousand, say)."""
    sample = [members[n].merchant_id for n in range(len(members) - 1, -1, -250)]

    async def known() -> None:
        for merchant_id in sample:
            found = await api.call("GET", f"/campaigns/members/{ids.members[merchant_id]}", ok=(200, 404))
            assert found.status_code == 200, f"campaign-svc has not heard of member {merchant_id} yet"

    await eventually(known, what="campaign-svc learning of the members", timeout=60)


async def _items(api: Api, world: World, ids: Ids) -> None:
    """The items on each community's calendar."""
    rows = [
        {
            "merchant_content_id": item.merchant_id,
            "content_type": item.content_type,
            "source": item.source,
            "title": item.title,
            "body": item.body,
            "tags": list(item.tags),
            "community_ids": [ids.communities[item.community]],
            "published_at": iso(item.published_at),
        }
        for item in world.items
    ]
    for item, content_id in zip(world.items, await api.history("/content/items/history", "items", rows), strict=True):
        ids.items[item.merchant_id] = content_id
    api.say(f"{len(world.items)} items published on the communities' calendars")


async def _engagement(api: Api, world: World, ids: Ids) -> None:
    """What members did with the items, and their own posts."""
    actions = [
        {
            "merchant_action_id": action.merchant_id,
            "member_id": ids.members[action.member],
            "content_id": ids.items[action.item],
            "action": action.kind,
            "occurred_at": iso(action.occurred_at),
        }
        for action in world.actions
    ]
    await api.history("/content/engagement/history", "actions", actions)
    api.say(f"{len(actions):,} reads, likes, comments, shares and clicks")
    await api.history("/content/posts/history", "posts", [_post_row(post, ids) for post in world.posts])
    api.say(f"{len(world.posts)} member posts")


def _post_row(post: Post, ids: Ids) -> dict[str, Any]:
    row = {
        "merchant_content_id": post.merchant_id,
        "member_id": ids.members[post.member],
        "community_id": ids.communities[post.community],
        "kind": post.kind,
        "body": post.body,
        "posted_at": iso(post.posted_at),
    }
    if post.reply_to is not None:
        row["reply_to_merchant_content_id"] = post.reply_to
    return row


async def _orders(api: Api, world: World, ids: Ids) -> None:
    await api.history("/campaigns/orders/history", "orders", [_order_row(order, ids) for order in world.orders])


def _order_row(order: Order, ids: Ids) -> dict[str, Any]:
    row: dict[str, Any] = {
        "merchant_order_id": order.merchant_id,
        "member_id": ids.members[order.member],
        "community_id": ids.communities[order.community],
        "placed_at": iso(order.placed_at),
        "items": [{"product_id": p, "quantity": q, "unit_price_fen": price} for p, q, price in order.lines],
    }
    if order.paid_at is not None:
        row["paid_at"] = iso(order.paid_at)
    if order.coupon_code is not None:
        row |= {"coupon_code": order.coupon_code, "discount_fen": order.discount_fen}
    if order.refunded_at is not None:
        row |= {"refunded_at": iso(order.refunded_at), "refund_fen": order.refund_fen}
    return row


async def _checkins(api: Api, world: World, ids: Ids) -> None:
    rows = [{"member_id": ids.members[c.member], "checked_in_at": iso(c.checked_in_at)} for c in world.checkins]
    await api.history(f"/campaigns/{ids.campaigns['checkin']}/checkins/history", "checkins", rows)
