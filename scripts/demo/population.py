"""The demo brand's communities and members: who joined which community when, through which channel and
whose invitation (a referral tree grown from a few advocates), who stayed and who left."""

import random
from datetime import datetime, timedelta

from demo.world import DAYS, Calendar, Community, Member, Membership

COMMUNITIES = [
    Community(
        key="mama",
        name="宝妈交流群",
        kind="vertical",
        tier="core",
        capacity=1000,
        opened_day=0,
        products=(
            ("sku-formula-800g", 26_800),
            ("sku-diaper-l", 12_900),
            ("sku-rice-cereal", 4_500),
            ("sku-wipes", 2_990),
        ),
        content_mix=(("knowledge", 0.5), ("scenario", 0.3), ("activity", 0.1), ("promotion", 0.1)),
        items_per_day=1.3,
    ),
    Community(
        key="food",
        name="辅食研究所",
        kind="vertical",
        tier="active",
        capacity=500,
        opened_day=14,
        products=(("sku-rice-cereal", 4_500), ("sku-fruit-puree", 3_900), ("sku-steamer", 19_900)),
        content_mix=(("knowledge", 0.45), ("scenario", 0.35), ("activity", 0.1), ("promotion", 0.1)),
        items_per_day=0.9,
    ),
    Community(
        key="wednesday",
        name="周三会员日福利群",
        kind="welfare",
        tier="active",
        capacity=1000,
        opened_day=0,
        products=(("sku-oat-1kg", 5_900), ("sku-yogurt-12", 6_900), ("sku-snack-box", 3_990), ("sku-diaper-l", 12_900)),
        content_mix=(("promotion", 0.45), ("activity", 0.25), ("scenario", 0.15), ("knowledge", 0.15)),
        items_per_day=1.0,
    ),
    Community(
        key="deals",
        name="秒杀福利2群",
        kind="welfare",
        tier="potential",
        capacity=500,
        opened_day=35,
        products=(("sku-snack-box", 3_990), ("sku-oat-1kg", 5_900), ("sku-wipes", 2_990)),
        content_mix=(("promotion", 0.6), ("activity", 0.2), ("scenario", 0.2)),
        items_per_day=0.8,
    ),
    Community(
        key="baking",
        name="烘焙兴趣圈",
        kind="interest",
        tier="potential",
        capacity=500,
        opened_day=10,
        products=(("sku-baking-set", 15_900), ("sku-flour-2kg", 2_500), ("sku-oat-1kg", 5_900)),
        content_mix=(("scenario", 0.4), ("activity", 0.35), ("knowledge", 0.2), ("promotion", 0.05)),
        items_per_day=0.8,
    ),
    Community(
        key="running",
        name="晨跑打卡圈",
        kind="interest",
        tier="active",
        capacity=500,
        opened_day=25,
        products=(("sku-run-socks", 3_900), ("sku-protein", 19_900), ("sku-yogurt-12", 6_900)),
        content_mix=(("activity", 0.45), ("scenario", 0.25), ("knowledge", 0.25), ("promotion", 0.05)),
        items_per_day=0.7,
    ),
    Community(
        key="vip",
        name="黑卡VIP服务群",
        kind="vip",
        tier="core",
        capacity=200,
        opened_day=5,
        products=(("sku-vip-box", 59_900), ("sku-formula-800g", 26_800), ("sku-protein", 19_900)),
        content_mix=(("knowledge", 0.4), ("promotion", 0.3), ("activity", 0.3)),
        items_per_day=0.5,
    ),
]

# Archetypes: share of members, chance of being active on a day, chance of ordering on an active day.
ARCHETYPES = {
    "engaged": (0.22, 0.2, 0.14),
    "vip": (0.05, 0.28, 0.22),
    "casual": (0.40, 0.05, 0.11),
    "lurker": (0.22, 0.03, 0.15),
    "churner": (0.05, 0.30, 0.10),
    "dormant": (0.06, 0.004, 0.05),
}
# Where first joins land, by community: the big groups take most.
FIRST_JOIN_WEIGHTS = {"mama": 30, "food": 10, "wednesday": 25, "deals": 10, "baking": 12, "running": 13}
REFERRAL_CAMPAIGN_DAYS = (DAYS - 25, DAYS + 6)  # from 24 days ago to six days ahead
AD_BURST_DAYS = (40, 46)
# The second deals group stopped recruiting a month ago and is losing members: a community in decline.
DECLINING, DECLINE_FROM = "deals", DAYS - 30

_NAMES = [
    "小雨",
    "阿杰",
    "Lily",
    "Amy",
    "老王",
    "糖糖",
    "乐乐",
    "果果",
    "晨晨",
    "悦悦",
    "小鱼",
    "大熊",
    "七七",
    "豆豆",
    "安安",
]
_NAMES += [
    "米粒",
    "Coco",
    "佳佳",
    "小满",
    "一一",
    "Vivian",
    "阿宁",
    "桃子",
    "橙子",
    "小北",
    "Joy",
    "思思",
    "小鹿",
    "星星",
]
_SUFFIXES = ["妈妈", "妈妈", "爸爸", "", "", "酱", "同学", "姐", "的日常", "爱烘焙", "在跑步"]
_REGIONS = ["上海", "北京", "杭州", "广州", "深圳", "成都", "南京", "苏州", "武汉", "西安"]
_PERSONAS = {
    "mama": ["宝妈", "新手妈妈"],
    "food": ["宝妈", "辅食达人"],
    "wednesday": ["职场新人", "价格敏感"],
    "deals": ["价格敏感"],
    "baking": ["烘焙爱好者"],
    "running": ["健身爱好者", "职场新人"],
}
_HOURS = {"mama": [20, 21, 22], "food": [20, 21, 13], "baking": [14, 15, 20], "running": [6, 7, 21]}
_OFFICE_HOURS = [7, 8, 12, 13, 19]


def populate(rng: random.Random, calendar: Calendar, count: int) -> list[Member]:
    """`count` members joining over the 120 days, in the order they first joined."""
    join_days = sorted(rng.choices(range(DAYS), weights=[_join_weight(day) for day in range(DAYS)], k=count))
    members: list[Member] = []
    advocacy: dict[str, float] = {}
    for number, day in enumerate(join_days, start=1):
        member = _a_member(rng, number, day)
        first = _first_membership(rng, calendar, day, member, members, advocacy)
        member.memberships.append(first)
        member.profile.update(_profile(rng, first.community))
        advocacy[member.merchant_id] = rng.paretovariate(1.2)
        members.append(member)
    members_by_id = {m.merchant_id: m for m in members}
    for member in members:
        _more_memberships(rng, calendar, member, members_by_id)
        _leaves(rng, calendar, member)
        # Consent is given live, one call each: the churners, whom the win-back is for, a few others, and most
        # of those signing up today.
        signing_up_today = calendar.day_of(member.first_joined_at) == calendar.today_index
        member.marketing_consent = member.archetype == "churner" or rng.random() < (0.7 if signing_up_today else 0.06)
    return members


def _join_weight(day: int) -> float:
    weight = 9 + 0.08 * day
    if day < 7:
        weight += 30  # the launch: seed members invited from the brand's customer list
    if AD_BURST_DAYS[0] <= day < AD_BURST_DAYS[1]:
        weight += 18
    if REFERRAL_CAMPAIGN_DAYS[0] <= day:
        weight += 10
    return weight


def _a_member(rng: random.Random, number: int, day: int) -> Member:
    kinds = list(ARCHETYPES)
    archetype = rng.choices(kinds, weights=[ARCHETYPES[k][0] for k in kinds])[0]
    if archetype == "churner" and day > 60:
        archetype = "casual"  # a churner had time to be active before falling silent
    member = Member(
        merchant_id=f"M{number:06d}",
        nickname=rng.choice(_NAMES)
        + rng.choice(_SUFFIXES)
        + (str(rng.randrange(10, 99)) if rng.random() < 0.3 else ""),
        profile={},
        archetype=archetype,
    )
    if archetype == "churner":
        member.silent_from = rng.randint(max(day + 15, 45), DAYS - 42)
    return member


def _profile(rng: random.Random, community: str) -> dict[str, object]:
    mothers = community in ("mama", "food")
    profile: dict[str, object] = {
        "gender": "female" if mothers or rng.random() < 0.55 else rng.choice(["male", "male", "undisclosed"]),
        "age_band": rng.choices(["18-24", "25-34", "35-44", "45-54"], weights=[15, 50, 28, 7])[0],
        "region": rng.choice(_REGIONS),
        "persona_tags": rng.sample(_PERSONAS.get(community, ["职场新人"]), k=1),
        "active_hours": sorted(set(rng.sample(_HOURS.get(community, _OFFICE_HOURS), k=2))),
    }
    if rng.random() < 0.4:
        profile["birthday"] = f"{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    return profile


def _first_membership(
    rng: random.Random,
    calendar: Calendar,
    day: int,
    member: Member,
    earlier: list[Member],
    advocacy: dict[str, float],
) -> Membership:
    open_now = {key: weight for key, weight in FIRST_JOIN_WEIGHTS.items() if _is_recruiting(key, day)}
    community = rng.choices(list(open_now), weights=list(open_now.values()))[0]
    joined_at = calendar.at(day, rng.choice([9, 10, 12, 13, 19, 20, 21, 22]), rng.randrange(60))
    if day == calendar.today_index:
        joined_at = calendar.earlier_today(rng.random())
    referral = REFERRAL_CAMPAIGN_DAYS[0] <= day
    if rng.random() < (0.45 if referral else 0.18):
        inviter = _an_inviter(rng, community, joined_at, earlier, advocacy)
        if inviter is not None:
            return Membership(community, joined_at, "invite", inviter)
    channels = ["qr", "ad", "store", "friend", "other"]
    weights = [35, 60 if AD_BURST_DAYS[0] <= day < AD_BURST_DAYS[1] else 15, 15, 10, 3]
    return Membership(community, joined_at, rng.choices(channels, weights=weights)[0])


def _an_inviter(
    rng: random.Random, community: str, joined_at: datetime, earlier: list[Member], advocacy: dict[str, float]
) -> str | None:
    """An advocate among the community's members of at least a day: a few invite most."""
    a_day_before = joined_at - timedelta(days=1)
    candidates = [
        m.merchant_id
        for m in earlier[-600:]
        if m.archetype in ("engaged", "vip", "casual") and community in m.communities_on(a_day_before)
    ]
    if not candidates:
        return None
    return rng.choices(candidates, weights=[advocacy[c] for c in candidates])[0]


def _more_memberships(rng: random.Random, calendar: Calendar, member: Member, everyone: dict[str, Member]) -> None:
    """Some members join a second community; big spenders are invited into the VIP group."""
    first = member.memberships[0]
    first_day = calendar.day_of(first.joined_at)
    extra = "vip" if member.archetype == "vip" else None
    if extra is None and rng.random() < 0.3:
        extra = rng.choice([key for key in FIRST_JOIN_WEIGHTS if key != first.community])
    if extra is None:
        return
    day = first_day + rng.randint(3, 40)
    if day >= calendar.today_index or not _is_recruiting(extra, day):
        return
    joined_at = calendar.at(day, rng.choice([10, 13, 20, 21]), rng.randrange(60))
    member.memberships.append(Membership(extra, joined_at, "invite" if extra == "vip" else "qr"))


def _is_recruiting(community: str, day: int) -> bool:
    return _community(community).opened_day <= day and not (community == DECLINING and day >= DECLINE_FROM)


def _leaves(rng: random.Random, calendar: Calendar, member: Member) -> None:
    """A few leave a community: churners more often, long after they fell silent, and the declining deals
    group's members in its last month."""
    for membership in member.memberships:
        chance = 0.3 if member.archetype == "churner" else 0.05
        first_day = calendar.day_of(membership.joined_at) + 5
        if member.silent_from is not None:
            first_day = max(first_day, member.silent_from + 10)
        if membership.community == DECLINING:
            chance, first_day = 0.3, max(first_day, DECLINE_FROM)
        if first_day < calendar.today_index - 1 and rng.random() < chance:
            day = rng.randint(first_day, calendar.today_index - 1)
            membership.left_at = calendar.at(day, rng.randint(8, 23), rng.randrange(60))


def _community(key: str) -> Community:
    return next(c for c in COMMUNITIES if c.key == key)
