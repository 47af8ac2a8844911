"""Today, through live calls as front-ends make them: new members joining (some invited during the referral
campaign), reading, posting, checking in, buying with coupons, a flash sale, a group-buy, a lottery, the NPS
survey, a few churned members leaving, and the content calendar of the days ahead."""

import asyncio
import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

from demo.client import Api, eventually
from demo.seeding import Ids, consents
from demo.world import Member, Order, World, iso


async def today(api: Api, world: World, ids: Ids) -> None:
    """Every live flow of today: each service's flows side by side with the others'."""
    await asyncio.gather(_members(api, world, ids), _content(api, world, ids), _campaigns(api, world, ids))


async def _members(api: Api, world: World, ids: Ids) -> None:
    """Advocates send invitations; new members join, many by an invitation (the referral campaign rewards
    the inviter); a few who fell silent leave. And the consents members gave when they signed up."""
    await consents(api, world, ids)
    await api.each(
        api.post(f"/members/{ids.members[m]}/invitations", {"community_id": ids.communities[c], "channel": channel})
        for m, c, channel in world.today.invitations
    )
    # One inviter's invitees one after the other: the inviter's code is made on their first invitation.
    by_inviter: dict[str, list[Member]] = defaultdict(list)
    for member in world.joining_today:
        by_inviter[member.memberships[0].inviter or member.merchant_id].append(member)
    await api.each(_join_in_turn(api, members, ids) for members in by_inviter.values())
    await api.each(
        api.call("DELETE", f"/communities/{ids.communities[community]}/members/{ids.members[member]}", ok=(204,))
        for member, community in world.today.leaves
    )


async def _content(api: Api, world: World, ids: Ids) -> None:
    """Members read and react, post, answer the NPS survey; the calendar of the days ahead is filled."""
    await _read(api, world, ids)
    await _known_to_content(api, world, ids)
    posts = world.today.posts
    await api.each(_post(api, ids.members[m], ids.communities[c], body) for m, c, body in posts)
    await _nps_surveys(api, world, ids)
    await _the_days_ahead(api, world, ids)


async def _campaigns(api: Api, world: World, ids: Ids) -> None:
    """Check-ins, orders, member-day coupons, the flash sale, the group-buy and the lottery."""
    checkin = ids.campaigns["checkin"]
    await api.each(
        api.post(f"/campaigns/{checkin}/checkins", {"member_id": ids.members[m]}) for m in world.today.checkins
    )
    await api.each(_order(api, order, ids) for order in world.today.orders)
    await _member_day_coupons(api, world, ids)
    await _flash_sale(api, world, ids)
    await _group_buy(api, world, ids)
    await _lottery(api, world, ids)


async def _join_in_turn(api: Api, members: list[Member], ids: Ids) -> None:
    for member in members:
        await _join(api, member, ids)


async def _join(api: Api, member: Member, ids: Ids) -> None:
    """A new member signs up (most consenting to marketing) and joins, by the code of an invitation if invited."""
    created = await api.post("/members", {"nickname": member.nickname, **member.profile})
    ids.members[member.merchant_id] = created["id"]
    if member.marketing_consent:
        consent = {"purpose": "marketing", "granted": True, "source": "小程序注册页"}
        await api.post(f"/members/{created['id']}/consents", consent)
    for membership in member.memberships:
        community = ids.communities[membership.community]
        join = {"member_id": created["id"], "channel": membership.channel}
        if membership.inviter is not None:
            invitation = {"community_id": community, "channel": "friend"}
            sent = await api.post(f"/members/{ids.members[membership.inviter]}/invitations", invitation)
            join["invite_code"] = sent["invite_code"]
        await api.post(f"/communities/{community}/members", join, ok=(201, 202))


async def _known_to_content(api: Api, world: World, ids: Ids) -> None:
    """Waits until content-svc has every community's members of the history (those who stay today, at least):
    their posts need it."""
    before_today = world.calendar.at(world.calendar.today_index, 0)
    leaving = set(world.today.leaves)
    expected = {
        key: sum(
            1
            for m in world.history_members
            if key in m.communities_on(before_today) and (m.merchant_id, key) not in leaving
        )
        for key in ids.communities
    }

    async def known() -> None:
        for key, count in expected.items():
            audience = await api.get(f"/content/communities/{ids.communities[key]}/audience")
            assert audience["members"] >= count, f"content-svc has {audience['members']} members of {key}, not {count}"

    await eventually(known, what="content-svc learning of the members", timeout=60)


async def _read(api: Api, world: World, ids: Ids) -> None:
    rows = [
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"qunyun-demo/{world.seed}/{action.merchant_id}")),
            "content_id": ids.items[action.item],
            "member_id": ids.members[action.member],
            "action": action.kind,
            "occurred_at": iso(action.occurred_at),
        }
        for action in world.today.actions
    ]
    for start in range(0, len(rows), 1000):
        receipt = await api.post("/content/engagements", {"actions": rows[start : start + 1000]})
        assert not receipt["rejected"], receipt["rejected"][:3]


async def _post(api: Api, member_id: str, community_id: str, body: str) -> None:
    post = {"member_id": member_id, "community_id": community_id, "kind": "show_order", "body": body}
    await api.post("/content/posts", post)


async def _order(api: Api, order: Order, ids: Ids, coupon_id: str | None = None) -> None:
    body: dict[str, Any] = {
        "member_id": ids.members[order.member],
        "community_id": ids.communities[order.community],
        "items": [{"product_id": p, "quantity": q, "unit_price_fen": price} for p, q, price in order.lines],
        "merchant_order_id": order.merchant_id,
    }
    if coupon_id is not None:
        body["coupon_id"] = coupon_id
    placed = await api.post("/campaigns/orders", body)
    await api.post(f"/campaigns/orders/{placed['id']}/payments")


async def _member_day_coupons(api: Api, world: World, ids: Ids) -> None:
    """Today's member-day coupons go out; a third of those who get one buy with it."""
    template = ids.templates["member_day"]
    receivers = world.today.coupon_receivers
    coupons = await api.each(
        api.post(f"/campaigns/coupon-templates/{template}/coupons", {"member_id": ids.members[m]}) for m in receivers
    )
    now = world.calendar.now
    orders = [
        (Order(f"W{n:04d}", m, "wednesday", now, (("sku-oat-1kg", 2, 5_900),)), coupon["id"])
        for n, (m, coupon) in enumerate(zip(receivers, coupons, strict=True))
        if n % 3 == 0
    ]
    await api.each(_order(api, order, ids, coupon_id) for order, coupon_id in orders)


async def _flash_sale(api: Api, world: World, ids: Ids) -> None:
    """Thirty-five tins at a flash-sale price for a crowd of fifty: the last ones in find it sold out."""
    settings = {"product_id": "sku-formula-800g", "price_fen": 19_900, "stock": 35, "per_member_limit": 1}
    sale = await _campaign(
        api, ids, "flash_sale", "flash_sale", "奶粉限时秒杀", world.calendar.now, settings, "wednesday"
    )

    async def attempt(member: str) -> None:
        body = {"member_id": ids.members[member], "community_id": ids.communities["wednesday"]}
        answer = await api.call("POST", f"/campaigns/{sale}/flash-sale/orders", json=body, ok=(201, 409))
        if answer.status_code == 201:
            await api.post(f"/campaigns/orders/{answer.json()['id']}/payments")

    await api.each(attempt(member) for member in world.today.flash_sale_buyers)


async def _group_buy(api: Api, world: World, ids: Ids) -> None:
    """Teams of three for diapers: most fill up and complete, a few are still forming."""
    settings = {"product_id": "sku-diaper-l", "price_fen": 9_900, "team_size": 3, "time_limit_minutes": 1440}
    group_buy = await _campaign(
        api, ids, "group_buy", "group_buy", "纸尿裤三人团", world.calendar.now, settings, "mama"
    )

    async def team(members: list[str]) -> None:
        opened = await api.post(f"/campaigns/{group_buy}/teams", {"member_id": ids.members[members[0]]})
        await api.post(f"/campaigns/orders/{opened['order']['id']}/payments")
        for member in members[1:]:
            seat = await api.post(
                f"/campaigns/{group_buy}/teams/{opened['team']['id']}/members", {"member_id": ids.members[member]}
            )
            await api.post(f"/campaigns/orders/{seat['order']['id']}/payments")

    await api.each(team(members) for members in world.today.group_buy_teams)


async def _lottery(api: Api, world: World, ids: Ids) -> None:
    prizes = [
        {"key": "first", "name": "婴儿推车", "probability_ppm": 5_000, "stock": 1, "value_fen": 129_900},
        {"key": "second", "name": "奶粉一罐", "probability_ppm": 50_000, "stock": 5, "value_fen": 26_800},
        {"key": "points", "name": "50积分", "probability_ppm": 400_000, "stock": 1_000, "reward": {"points": 50}},
    ]
    settings = {"per_member_draws": 1, "prizes": prizes}
    lottery = await _campaign(
        api, ids, "lottery", "lottery", "会员日幸运抽奖", world.calendar.now, settings, None, 1_000_000
    )
    await api.each(
        api.post(f"/campaigns/{lottery}/lottery/draws", {"member_id": ids.members[m]})
        for m in world.today.lottery_players
    )


async def _campaign(
    api: Api,
    ids: Ids,
    key: str,
    kind: str,
    name: str,
    now: datetime,
    settings: dict[str, Any],
    community: str | None,
    budget_fen: int | None = None,
) -> str:
    body: dict[str, Any] = {"kind": kind, "name": name, "ends_at": iso(now + timedelta(days=3)), "settings": settings}
    if community is not None:
        body["community_id"] = ids.communities[community]
    if budget_fen is not None:
        body["budget_fen"] = budget_fen
    ids.campaigns[key] = (await api.post("/campaigns", body))["id"]
    return ids.campaigns[key]


async def _nps_surveys(api: Api, world: World, ids: Ids) -> None:
    """The brand's satisfaction survey across its communities, and the VIP group's service survey."""
    await _survey(api, ids, "社群满意度调查", "你有多大可能把我们的社群推荐给朋友?", world.today.nps_answers)
    vip = {"communities": [ids.communities["vip"]]}
    await _survey(api, ids, "黑卡专属服务评价", "你有多大可能向朋友推荐黑卡服务?", world.today.vip_answers, vip)


async def _survey(
    api: Api, ids: Ids, title: str, question: str, answers: list[tuple[str, int, str]], target: Any = None
) -> None:
    questions = [
        {"id": "nps", "text": question, "kind": "nps"},
        {"id": "why", "text": "说说原因吧", "kind": "text", "required": False},
    ]
    body = {"title": title, "questions": questions} | ({"target": target} if target else {})
    survey = await api.post("/content/surveys", body)
    await api.each(
        api.post(
            f"/content/surveys/{survey['id']}/answers",
            {"member_id": ids.members[m], "answers": {"nps": score, "why": why}},
        )
        for m, score, why in answers
    )


async def _the_days_ahead(api: Api, world: World, ids: Ids) -> None:
    """The calendar goes on: an item for each of the next three evenings in the mothers' group."""
    community = ids.communities["mama"]
    for day in (1, 2, 3):
        item = {
            "content_type": "knowledge",
            "title": f"宝宝睡眠小课堂 第{day}讲",
            "body": "规律作息从白天的小睡开始……",
            "tags": ["干货"],
            "target": {"communities": [community]},
        }
        created = await api.post("/content/items", item)
        publish_at = world.calendar.at(world.calendar.today_index + day, 20, 30)
        await api.post(
            f"/content/items/{created['id']}/schedule", {"community_ids": [community], "publish_at": iso(publish_at)}
        )
