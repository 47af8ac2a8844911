"""What the demo brand's world is made of: its communities, members and their memberships, the content it
published, what members did with it, their orders and check-ins. Plain data, named by the merchant's own ids,
so the same seed and the same day always give the same world."""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# The brand's time zone, and analytics' reporting zone: days begin at its midnight.
ZONE = ZoneInfo("Asia/Shanghai")
DAYS = 120  # of community life, the last one today


@dataclass(frozen=True)
class Calendar:
    """Day 0 is 119 days before today; day DAYS - 1 is today, which has happened only until `now`."""

    today: date
    now: datetime

    @property
    def first(self) -> date:
        return self.today - timedelta(days=DAYS - 1)

    @property
    def today_index(self) -> int:
        return DAYS - 1

    def date_of(self, day: int) -> date:
        return self.first + timedelta(days=day)

    def at(self, day: int, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(self.date_of(day), time(hour, minute), tzinfo=ZONE)

    def day_of(self, moment: datetime) -> int:
        return (moment.astimezone(ZONE).date() - self.first).days

    def earlier_today(self, fraction: float) -> datetime:
        """A moment of today before now: `fraction` of the way from midnight to a minute ago."""
        midnight = self.at(self.today_index, 0)
        return midnight + max(self.now - midnight - timedelta(minutes=1), timedelta(0)) * fraction


@dataclass(frozen=True)
class Community:
    key: str
    name: str
    kind: str
    tier: str
    capacity: int
    opened_day: int
    # The products its members buy, with their prices in fen.
    products: tuple[tuple[str, int], ...]
    # Content types it publishes, with their weights, and the items it publishes on an average day.
    content_mix: tuple[tuple[str, float], ...]
    items_per_day: float


@dataclass
class Membership:
    community: str
    joined_at: datetime
    channel: str
    inviter: str | None = None  # the inviter's merchant member id
    left_at: datetime | None = None


@dataclass
class Member:
    merchant_id: str
    nickname: str
    profile: dict[str, object]
    archetype: str
    memberships: list[Membership] = field(default_factory=list)
    marketing_consent: bool = False
    # Churners do things until this day, then fall silent.
    silent_from: int | None = None

    @property
    def first_joined_at(self) -> datetime:
        return min(m.joined_at for m in self.memberships)

    def communities_on(self, moment: datetime) -> list[str]:
        return [
            m.community for m in self.memberships if m.joined_at <= moment and (m.left_at is None or m.left_at > moment)
        ]


@dataclass(frozen=True)
class Item:
    merchant_id: str
    community: str
    content_type: str
    source: str
    title: str
    body: str
    tags: tuple[str, ...]
    published_at: datetime


@dataclass(frozen=True)
class Action:
    merchant_id: str
    member: str
    item: str
    kind: str
    occurred_at: datetime


@dataclass(frozen=True)
class Post:
    """A member's own post: showing an order, or replying to an activity's topic."""

    merchant_id: str
    member: str
    community: str
    kind: str
    body: str
    posted_at: datetime
    reply_to: str | None = None  # the topic's merchant content id


@dataclass(frozen=True)
class Order:
    merchant_id: str
    member: str
    community: str
    placed_at: datetime
    lines: tuple[tuple[str, int, int], ...]  # product, quantity, unit price in fen
    paid_at: datetime | None = None
    coupon_code: str | None = None
    discount_fen: int = 0
    refunded_at: datetime | None = None
    refund_fen: int = 0

    @property
    def subtotal_fen(self) -> int:
        return sum(quantity * price for _, quantity, price in self.lines)


@dataclass(frozen=True)
class Checkin:
    member: str
    checked_in_at: datetime


@dataclass
class Today:
    """What happens today, through live calls: who reads what, buys, checks in, posts and answers."""

    actions: list[Action] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    checkins: list[str] = field(default_factory=list)
    posts: list[tuple[str, str, str]] = field(default_factory=list)  # member, community, body
    nps_answers: list[tuple[str, int, str]] = field(default_factory=list)  # member, score, why
    vip_answers: list[tuple[str, int, str]] = field(default_factory=list)  # the VIP service survey's
    coupon_receivers: list[str] = field(default_factory=list)
    flash_sale_buyers: list[str] = field(default_factory=list)
    group_buy_teams: list[list[str]] = field(default_factory=list)  # leader first
    lottery_players: list[str] = field(default_factory=list)
    leaves: list[tuple[str, str]] = field(default_factory=list)  # member, community
    invitations: list[tuple[str, str, str]] = field(default_factory=list)  # inviter, community, channel


@dataclass
class World:
    seed: int
    calendar: Calendar
    communities: list[Community]
    members: list[Member]
    items: list[Item] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    posts: list[Post] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    checkins: list[Checkin] = field(default_factory=list)
    today: Today = field(default_factory=Today)

    def member(self, merchant_id: str) -> Member:
        return self._members_by_id[merchant_id]

    def __post_init__(self) -> None:
        self._members_by_id = {member.merchant_id: member for member in self.members}

    @property
    def joining_today(self) -> list[Member]:
        """Members whose first join is today: created and joined by live calls."""
        return [m for m in self.members if self.calendar.day_of(m.first_joined_at) == self.calendar.today_index]

    @property
    def history_members(self) -> list[Member]:
        today = self.calendar.today_index
        return [m for m in self.members if self.calendar.day_of(m.first_joined_at) < today]


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
