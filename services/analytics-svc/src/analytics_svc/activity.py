"""What counts as what: the reporting day of an event, the kinds of member activity the KPIs count,
and the decaying engagement counts a member's trend is read from."""

import math
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# Days are the platform's reporting days: its operators and their members are in China.
REPORT_ZONE = ZoneInfo("Asia/Shanghai")

# The kinds of activity whose members are counted distinct per day (see docs/kpis.md).
ACTIVE = "active"  # any engagement, check-in or order
READ = "read"  # viewed or completed content
INTERACTED = "interacted"  # liked, commented, shared, or posted their own content
PARTICIPATED = "participated"  # checked in, or engaged with activity content
ORDERED = "ordered"  # placed an order
JOINED = "joined"  # joined the community (for the tenant: joined the brand, their first community)
KINDS = (ACTIVE, READ, INTERACTED, PARTICIPATED, ORDERED, JOINED)

READING = frozenset({"view", "complete"})
INTERACTING = frozenset({"like", "comment", "share"})

# Half-lives of the two engagement counts: their ratio compares the last week with the last month.
FAST_HALF_LIFE = timedelta(days=7)
SLOW_HALF_LIFE = timedelta(days=30)


def day_of(moment: datetime) -> date:
    return moment.astimezone(REPORT_ZONE).date()


def midnight(day: date) -> datetime:
    """The moment `day` begins in the reporting zone."""
    return datetime.combine(day, time(), REPORT_ZONE)


def moment_on(day: date, at: datetime) -> datetime:
    """`at` if it falls on `day`, else the moment of `day` nearest to it: when something happened on a day
    an event names without its moment, and the event came (imported) long after."""
    starts, ends = midnight(day), midnight(day + timedelta(1))
    return min(max(at, starts), ends - timedelta(microseconds=1))


def decayed(value: float, since: datetime | None, now: datetime, half_life: timedelta) -> float:
    """`value`, counted at `since`, as it stands at `now`."""
    if since is None or value == 0.0:
        return value
    elapsed = max((now - since).total_seconds(), 0.0)
    return value * math.exp(-math.log(2) * elapsed / half_life.total_seconds())


def with_event(value: float, since: datetime | None, at: datetime, half_life: timedelta) -> float:
    """`value`, counted at `since`, plus one event at `at`, as it stands at the later of the two: an event
    arriving after newer ones adds only what is left of it by then, so the count is the same whatever
    order the events arrive in."""
    reference = at if since is None else max(since, at)
    return decayed(value, since, reference, half_life) + decayed(1.0, at, reference, half_life)


def engagement_trend(fast: float, slow: float) -> float | None:
    """How the last week compares with the last month, as a rate: 1 steady, below 1 fading, above rising.
    The fast count's steady state is FAST/SLOW of the slow one's, hence the scaling."""
    if slow <= 0.0:
        return None
    steady = FAST_HALF_LIFE / SLOW_HALF_LIFE
    return (fast / slow) / steady
