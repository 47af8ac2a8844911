"""After the seeding: wait until analytics has taken in the history, refit the brand's model so segments and
churn risk reflect it, set the alert rules an operator would, and say what the demo shows."""

import asyncio
from collections import defaultdict
from typing import Any
from urllib.parse import urljoin, urlsplit

from demo.client import Api, SeedingFailed, eventually
from demo.seeding import Ids
from demo.world import World

# What an operator watches, with the targets of the brand's operating plan: the demo's numbers cross some.
ALERT_RULES = [
    {"kpi": "weekly_active_rate", "condition": "below", "threshold": 0.5, "level": "warning"},
    {"kpi": "interaction_rate", "condition": "below", "threshold": 0.25, "level": "critical", "community": "wednesday"},
    {"kpi": "members_left", "condition": "above", "threshold": 50, "level": "info"},
]


def expected(world: World) -> dict[str, float]:
    """What analytics should answer for the last day of history, computed from the world itself."""
    calendar = world.calendar
    yesterday = calendar.today_index - 1
    end = calendar.at(calendar.today_index, 0)
    active: dict[int, set[str]] = defaultdict(set)
    for action in world.actions:
        active[calendar.day_of(action.occurred_at)].add(action.member)
    for order in world.orders:
        active[calendar.day_of(order.placed_at)].add(order.member)
    for checkin in world.checkins:
        active[calendar.day_of(checkin.checked_in_at)].add(checkin.member)
    for post in world.posts:
        active[calendar.day_of(post.posted_at)].add(post.member)
    present = [m for m in world.history_members if any(ms.left_at is None or ms.left_at >= end for ms in m.memberships)]
    return {
        "members_total": len(present),
        "paid_orders": sum(1 for order in world.orders if order.paid_at is not None),
        "dau": len(active[yesterday]),
    }


async def wait_for_analytics(api: Api, world: World, want: dict[str, float]) -> None:
    """Waits until analytics' answers for the history equal the world's."""
    first, yesterday = (
        world.calendar.first.isoformat(),
        world.calendar.date_of(world.calendar.today_index - 1).isoformat(),
    )

    async def caught_up() -> None:
        day = {"from": yesterday, "to": yesterday}
        members = (await api.get("/analytics/kpis/members_total", **day))["points"][0]["value"]
        dau = (await api.get("/analytics/kpis/dau", **day))["points"][0]["value"]
        paid = sum(
            p["value"] or 0
            for p in (await api.get("/analytics/kpis/paid_orders", **{"from": first, "to": yesterday}))["points"]
        )
        found = {"members_total": members, "paid_orders": paid, "dau": dau}
        assert found == want, f"analytics answers {found}, the world has {want}"

    await eventually(caught_up, what="analytics taking in the history", timeout=120)


async def refit(api: Api) -> dict[str, Any]:
    """The tenant's model refitted now: answered at once, or as a job to follow to its end."""
    started = await api.call("POST", "/analytics/segments/recompute", ok=(200, 202))
    if started.status_code == 200:
        return dict(started.json())
    # The job's address, relative to the request's or absolute, as a path under the API's base.
    location = urlsplit(urljoin(str(started.url), started.headers["Location"])).path
    location = location.removeprefix(urlsplit(str(api.client.base_url)).path)

    async def finished() -> dict[str, Any]:
        job = await api.get(location)
        status = job.get("status")
        if status == "failed":
            raise SeedingFailed(f"the refit failed: {job}")
        assert status == "succeeded", f"the refit is {status}"
        return dict(job)

    return await eventually(finished, what="the refit", timeout=120)


async def alert_rules(api: Api, ids: Ids) -> None:
    for rule in ALERT_RULES:
        body = {key: value for key, value in rule.items() if key != "community"}
        if "community" in rule:
            body["community_id"] = ids.communities[str(rule["community"])]
        await api.post("/analytics/alerts/rules", body)


async def summary(api: Api, world: World, ids: Ids) -> list[str]:
    """A few lines on what the demo brand now shows."""
    today, month_ago = world.calendar.today, world.calendar.date_of(world.calendar.today_index - 29)
    segments, gmv = await asyncio.gather(
        api.get("/analytics/segments"),
        api.get(
            "/analytics/kpis/gmv_fen", **{"from": month_ago.isoformat(), "to": today.isoformat()}, granularity="month"
        ),
    )
    yuan = sum(point["value"] or 0 for point in gmv["points"]) / 100
    return [
        f"  {len(ids.communities)} communities, {len(ids.members):,} members, {len(world.items)} items, "
        f"{len(world.actions) + len(world.today.actions):,} reads and reactions, "
        f"{len(world.orders) + len(world.today.orders):,} orders",
        f"  GMV in the last 30 days ¥{yuan:,.0f}; members by segment: "
        + ", ".join(f"{s['segment']} {s['members']}" for s in segments),
    ]
