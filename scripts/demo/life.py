"""120 days of the demo brand's community life: content published on each community's calendar, members
reading, liking, commenting and sharing it, buying (with coupons on member days, refunds now and then), and a
check-in challenge; then what is left for today's live calls."""

import bisect
import random
from collections import defaultdict
from datetime import datetime, timedelta

from demo.population import ARCHETYPES, COMMUNITIES, populate
from demo.world import DAYS, Action, Calendar, Checkin, Community, Item, Member, Order, Post, World

# The check-in challenge runs in the running circle, from 30 days ago; `CHECKIN_DAYS` check-ins complete it.
CHECKIN_START = DAYS - 31
CHECKIN_DAYS = 21
WEDNESDAY = 2
MEMBER_DAY_COUPON = ("WED20", 9_900, 2_000)  # code, minimum spend, discount (fen)
FIRST_ORDER_COUPON = ("NEW10", 0, 1_000)

_TITLES = {
    "knowledge": ["宝宝辅食添加时间表", "纸尿裤尺码怎么选", "奶粉冲泡的三个误区", "夜奶断奶指南", "燕麦怎么选更健康"],
    "scenario": ["三分钟早餐 燕麦酸奶杯", "小户型收纳妙招", "周末亲子烘焙", "通勤路上的健康零食", "雨天在家带娃"],
    "activity": ["晒单赢好礼", "本周话题: 你家宝宝几点睡", "烘焙作品大赛", "21天早起挑战打卡", "直播答疑预告"],
    "promotion": ["周三会员日 满99减20", "限时秒杀 奶粉直降", "新品试用招募", "拼团价 纸尿裤三连包", "黑卡专享礼盒"],
}
_TAGS = {"knowledge": ("干货",), "scenario": ("生活",), "activity": ("互动",), "promotion": ("福利",)}
_POST_BODIES = [
    "今天收到货了, 包装很用心, 宝宝很喜欢",
    "分享一下我家的早餐搭配, 燕麦加酸奶加蓝莓",
    "第一次做戚风蛋糕居然成功了",
    "晨跑第十天打卡, 配速又快了一点",
    "辅食米粉宝宝吃得很香, 推荐给新手妈妈",
    "会员日买的零食礼盒, 性价比很高",
    "请问大家纸尿裤L码一般用到多大",
    "群里的干货太实用了, 收藏了",
]
_VIP_WHY = ["专属客服响应很快", "礼盒很精致", "生日礼物很贴心", "希望多一些线下活动"]
_EMOJI = ["👍", "😊", "🎉", "❤️", "💪", "🌟", "#晒单", "#打卡", "~", "!"]
# Members who post, and how often on a day they are active.
_POST_CHANCE = {"engaged": 0.04, "vip": 0.05, "casual": 0.015}
_WHY = ["客服很耐心", "东西好用, 群里氛围好", "价格还可以再优惠一点", "发货有点慢", "内容很实用", "活动太多了有点打扰"]


def generate(seed: int, calendar: Calendar, members: int = 2_000) -> World:
    """The demo world for `seed`, ending today: the same seed and the same day always give the same world."""
    rng = random.Random(seed)
    world = World(seed=seed, calendar=calendar, communities=COMMUNITIES, members=populate(rng, calendar, members))
    world.items = _content_calendar(rng, calendar)
    _community_life(rng, world)
    world.checkins = _checkin_challenge(rng, world)
    _todays_plan(rng, world)
    return world


def _content_calendar(rng: random.Random, calendar: Calendar) -> list[Item]:
    """Each community's items, published at its members' reading hours, until yesterday."""
    items: list[Item] = []
    for community in COMMUNITIES:
        for day in range(community.opened_day, calendar.today_index):
            count = int(community.items_per_day) + (rng.random() < community.items_per_day % 1)
            if community.kind == "welfare" and calendar.date_of(day).weekday() == WEDNESDAY:
                count += 1
            for _ in range(count):
                items.append(_an_item(rng, calendar, community, day, len(items) + 1))
    items.sort(key=lambda item: item.published_at)
    return items


def _an_item(rng: random.Random, calendar: Calendar, community: Community, day: int, number: int) -> Item:
    kinds, weights = zip(*community.content_mix, strict=True)
    content_type = rng.choices(kinds, weights=weights)[0]
    if community.kind == "welfare" and calendar.date_of(day).weekday() == WEDNESDAY:
        content_type = "promotion"
    title = f"{rng.choice(_TITLES[content_type])} · {community.name} 第{number}期"
    hour = rng.choice([7, 8, 12, 19, 20, 21])
    return Item(
        merchant_id=f"C{number:05d}",
        community=community.key,
        content_type=content_type,
        source="OGC" if rng.random() < 0.15 else "PGC",
        title=title,
        body=f"{title}\n\n{community.name}的运营团队整理, 欢迎在群里讨论。",
        tags=_TAGS[content_type],
        published_at=calendar.at(day, hour, rng.randrange(60)),
    )


class _Shelf:
    """The items each community published, by time: what a member may read at a moment."""

    def __init__(self, items: list[Item]) -> None:
        self.items: dict[str, list[Item]] = defaultdict(list)
        for item in items:
            self.items[item.community].append(item)
        self.times = {key: [item.published_at for item in found] for key, found in self.items.items()}

    def recent(self, community: str, moment: datetime, days: int = 3) -> list[Item]:
        times = self.times.get(community, [])
        first = bisect.bisect_left(times, moment - timedelta(days=days))
        last = bisect.bisect_left(times, moment)
        return self.items[community][first:last]


def _community_life(rng: random.Random, world: World) -> None:
    """Day by day, each member present is active or not; the active read, react and sometimes buy."""
    calendar, shelf = world.calendar, _Shelf(world.items)
    first_order: dict[str, bool] = {}
    for day in range(calendar.today_index):
        for member in world.members:
            moment = _active_moment(rng, calendar, member, day)
            if moment is None:
                continue
            communities = member.communities_on(moment)
            if not communities:
                continue
            community = rng.choice(communities)
            recent = shelf.recent(community, moment)
            world.actions.extend(_reactions(rng, member, recent, moment, len(world.actions)))
            ordered = rng.random() < _order_chance(calendar, member, day, community)
            if ordered:
                number = f"O{len(world.orders) + 1:07d}"
                world.orders.append(_an_order(rng, world, member, community, moment, first_order, number))
            if rng.random() < _POST_CHANCE.get(member.archetype, 0):
                world.posts.append(_a_post(rng, member, community, recent, moment, ordered, len(world.posts) + 1))


def _active_moment(rng: random.Random, calendar: Calendar, member: Member, day: int) -> datetime | None:
    if member.silent_from is not None and day >= member.silent_from:
        return None
    joined_day = calendar.day_of(member.first_joined_at)
    if day < joined_day:
        return None
    chance = ARCHETYPES[member.archetype][1]
    if day - joined_day < 7:
        chance *= 1.6  # the novelty of a new group
    if calendar.date_of(day).weekday() >= 5:
        chance *= 1.15
    if rng.random() >= chance:
        return None
    hours = member.profile.get("active_hours") or [20]
    assert isinstance(hours, list)
    moment = calendar.at(day, rng.choice(hours), rng.randrange(60))
    return moment if moment > member.first_joined_at else None


def _reactions(
    rng: random.Random, member: Member, shelf: list[Item], moment: datetime, count: int, until: datetime | None = None
) -> list[Action]:
    """A member reads one to three of the latest items, finishing some, liking, commenting, sharing or clicking."""
    actions: list[Action] = []
    chosen = rng.sample(shelf[-6:], k=min(len(shelf[-6:]), rng.choices([1, 2], weights=[85, 15])[0]))
    for item in chosen:
        kinds = ["view"]
        for kind, chance in (("complete", 0.3), ("like", 0.15), ("comment", 0.05), ("share", 0.03)):
            if rng.random() < chance:
                kinds.append(kind)
        if item.content_type == "promotion" and rng.random() < 0.25:
            kinds.append("click")
        for kind in kinds:
            at = moment + timedelta(seconds=rng.randrange(30, 600))
            at = at if until is None else min(at, until)
            actions.append(Action(f"A{count + len(actions) + 1:07d}", member.merchant_id, item.merchant_id, kind, at))
    return actions


def _a_post(
    rng: random.Random, member: Member, community: str, recent: list[Item], moment: datetime, ordered: bool, number: int
) -> Post:
    """Showing off an order just made, or a reply to the latest activity's topic."""
    topics = [item for item in recent if item.content_type == "activity"]
    posted_at = moment + timedelta(minutes=rng.randint(25, 50))
    body = f"{rng.choice(_POST_BODIES)} {rng.choice(_EMOJI)}"
    if topics and not ordered:
        topic = topics[-1]
        return Post(f"P{number:05d}", member.merchant_id, community, "topic_reply", body, posted_at, topic.merchant_id)
    return Post(f"P{number:05d}", member.merchant_id, community, "show_order", body, posted_at)


def _order_chance(calendar: Calendar, member: Member, day: int, community: str) -> float:
    chance = ARCHETYPES[member.archetype][2]
    if calendar.date_of(day).weekday() == WEDNESDAY and community in ("wednesday", "deals"):
        chance *= 2  # member day
    return chance


def _an_order(
    rng: random.Random,
    world: World,
    member: Member,
    community_key: str,
    moment: datetime,
    first: dict[str, bool],
    number: str,
) -> Order:
    community = next(c for c in world.communities if c.key == community_key)
    lines = tuple(
        (product, rng.choices([1, 2, 3], weights=[70, 22, 8])[0], price)
        for product, price in rng.sample(community.products, k=rng.choices([1, 2], weights=[75, 25])[0])
    )
    subtotal = sum(quantity * price for _, quantity, price in lines)
    placed_at = moment + timedelta(minutes=rng.randint(1, 20))
    coupon, discount = None, 0
    is_first = member.merchant_id not in first
    first[member.merchant_id] = True
    wednesday = placed_at.weekday() == WEDNESDAY and community.kind == "welfare"
    for (code, minimum, off), applies in ((MEMBER_DAY_COUPON, wednesday), (FIRST_ORDER_COUPON, is_first)):
        if applies and coupon is None and subtotal >= minimum and rng.random() < 0.4:
            coupon, discount = code, off
    if rng.random() < 0.04:  # placed and never paid
        return Order(number, member.merchant_id, community_key, placed_at, lines, None, coupon, discount)
    paid_at = placed_at + timedelta(minutes=rng.randint(1, 15))
    refunded_at, refund = None, 0
    if rng.random() < 0.05:
        refunded_at = paid_at + timedelta(days=rng.randint(1, 7), hours=rng.randint(0, 12))
        refund = subtotal - discount if rng.random() < 0.6 else (subtotal - discount) // 2
        if world.calendar.day_of(refunded_at) >= world.calendar.today_index:
            refunded_at, refund = None, 0
    return Order(
        number, member.merchant_id, community_key, placed_at, lines, paid_at, coupon, discount, refunded_at, refund
    )


def _checkin_challenge(rng: random.Random, world: World) -> list[Checkin]:
    """The running circle's 21-day challenge: members start on a day of their own and keep a streak, or not."""
    calendar, checkins = world.calendar, []
    start = calendar.at(CHECKIN_START, 0)
    runners = [m for m in world.history_members if "running" in m.communities_on(start + timedelta(days=3))]
    for member in runners:
        if member.archetype in ("dormant", "churner") or rng.random() > 0.7:
            continue
        day = CHECKIN_START + rng.randint(0, 12)
        keep_going = {"engaged": 0.93, "vip": 0.93}.get(member.archetype, 0.8)
        done = 0
        while day <= calendar.today_index and done < CHECKIN_DAYS:
            if day == calendar.today_index:
                world.today.checkins.append(member.merchant_id)
                break
            checkins.append(Checkin(member.merchant_id, calendar.at(day, rng.choice([6, 7]), rng.randrange(60))))
            done += 1
            day += 1 if rng.random() < keep_going else rng.randint(2, 4)
            if rng.random() < 0.04:
                break  # gave up
    return checkins


def _todays_plan(rng: random.Random, world: World) -> None:
    """Today, until now: who reads, buys, posts, answers the NPS survey, plays and joins campaigns."""
    calendar, shelf, today = world.calendar, _Shelf(world.items), world.today
    present = [m for m in world.history_members if m.communities_on(calendar.now)]
    # The day is not over: members have been about as active as the part of it gone by.
    so_far = max(0.4, (calendar.now - calendar.at(calendar.today_index, 0)) / timedelta(hours=22))
    for member in present:
        if member.silent_from is not None or rng.random() >= ARCHETYPES[member.archetype][1] * min(so_far, 1):
            continue
        moment = calendar.earlier_today(rng.random())
        community = rng.choice(member.communities_on(moment) or [member.memberships[0].community])
        recent = shelf.recent(community, moment, days=4)
        count = len(world.actions) + len(today.actions)
        today.actions.extend(_reactions(rng, member, recent, moment, count, until=calendar.now))
        if rng.random() < ARCHETYPES[member.archetype][2]:
            number = f"T{len(today.orders) + 1:05d}"
            today.orders.append(_an_order(rng, world, member, community, moment, {}, number))
        if rng.random() < 0.08:
            today.posts.append((member.merchant_id, community, rng.choice(_POST_BODIES)))
    active = [a.member for a in today.actions]
    for member_id in rng.sample(sorted(set(active)), k=min(160, len(set(active)))):
        score = rng.choices(range(11), weights=[1, 1, 1, 2, 2, 3, 5, 10, 14, 22, 20])[0]
        today.nps_answers.append((member_id, score, rng.choice(_WHY)))
    vips = sorted(m.merchant_id for m in present if "vip" in m.communities_on(calendar.now))
    for member_id in rng.sample(vips, k=min(20, len(vips))):
        score = rng.choices(range(5, 11), weights=[1, 2, 4, 8, 12, 14])[0]
        today.vip_answers.append((member_id, score, rng.choice(_VIP_WHY)))
    welfare = [m.merchant_id for m in present if {"wednesday", "deals"} & set(m.communities_on(calendar.now))]
    today.coupon_receivers = rng.sample(welfare, k=min(45, len(welfare)))
    today.flash_sale_buyers = rng.sample(welfare, k=min(50, len(welfare)))
    mothers = [m.merchant_id for m in present if "mama" in m.communities_on(calendar.now)]
    picked = rng.sample(mothers, k=min(24, len(mothers)))
    today.group_buy_teams = [picked[n : n + 3][: rng.choice([2, 3, 3])] for n in range(0, len(picked), 3)]
    today.lottery_players = rng.sample([m.merchant_id for m in present], k=min(60, len(present)))
    advocates = [m for m in present if m.archetype in ("engaged", "vip")]
    for member in rng.sample(advocates, k=min(25, len(advocates))):
        community = rng.choice(member.communities_on(calendar.now))
        today.invitations.append((member.merchant_id, community, rng.choice(["friend", "group", "moments", "poster"])))
    churned = [m for m in present if m.silent_from is not None]
    for member in rng.sample(churned, k=min(6, len(churned))):
        today.leaves.append((member.merchant_id, member.communities_on(calendar.now)[0]))
