"""`python -m bench.imports`: a brand's whole history imported through the gateway's import jobs, on PostgreSQL
and on the embedded SQLite default — 100,000 members (a membership each), 2,000 content items, 300,000 orders
and 1,000,000 engagement actions over 18 months, as CSV files uploaded at once.

Timed from the first upload until every job is done (each line answered by its owning service, in its database,
its events in the outbox), target under 10 minutes; then, apart, until analytics-svc has taken every event the
import announced. Reference in the same run: PostgreSQL's COPY of the same four files into plain tables, the
floor of putting those bytes into a database at all.
"""

import argparse
import asyncio
import io
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import machine
from bench.bus_path import plain_dsn
from bench.report import markdown, run_suite
from bench.world import tenant_api
from tests.support.harness import POSTGRES_ADMIN_DSN, ROOT, Platform

RESULTS = ROOT / "bench/results/imports.json"
SERVICES = ["member-svc", "content-svc", "campaign-svc", "analytics-svc", "gateway"]
TARGET_SECONDS = 600
COMMUNITIES = 50
MONTHS = 18
ACTIONS = ("view", "view", "view", "complete", "like", "like", "comment", "share", "click")
CHANNELS = ("ad", "friend", "qr", "store", "import")
# What analytics must have taken for the history to be in its answers: the events the import announces.
ANNOUNCED = {"member.joined": "members", "order.paid": "orders", "content.engaged": "engagement"}


class History:
    """The brand's history as the four CSV files a merchant would export, deterministic from a seed."""

    def __init__(self, *, members: int, items: int, orders: int, actions: int, seed: int = 21) -> None:
        chance = random.Random(seed)
        self.now = datetime.now(UTC).replace(microsecond=0)
        start = self.now - timedelta(days=30 * MONTHS)
        span = (self.now - start).total_seconds()
        self.start = start
        self.counts = {"members": members, "content": items, "orders": orders, "engagement": actions}
        self.joined = [start + timedelta(seconds=chance.uniform(0, span - 86400)) for _ in range(members)]
        self.published = [start + timedelta(seconds=chance.uniform(0, 30 * 86400)) for _ in range(items)]
        self.chance = chance

    def files(self, communities: list[str]) -> dict[str, bytes]:
        chance, now = self.chance, self.now
        stamp = datetime.isoformat
        members = ["merchant_member_id,nickname,community_id,joined_at,channel"]
        for n, joined in enumerate(self.joined):
            members.append(
                f"M{n},会员{n},{communities[n % len(communities)]},{stamp(joined)},{chance.choice(CHANNELS)}"
            )
        content = ["merchant_content_id,content_type,title,body,community_ids,published_at"]
        for n, published in enumerate(self.published):
            content.append(
                f"K{n},knowledge,育儿课{n},第{n}课的内容,{communities[n % len(communities)]},{stamp(published)}"
            )
        orders = ["merchant_order_id,merchant_member_id,placed_at,paid_at,product_id,quantity,unit_price_fen"]
        for n in range(self.counts["orders"]):
            member = chance.randrange(len(self.joined))
            placed = self._after(self.joined[member])
            paid = min(placed + timedelta(minutes=chance.randint(1, 90)), now)
            price = chance.choice((990, 2990, 5900, 12800, 39900))
            orders.append(f"O{n},M{member},{stamp(placed)},{stamp(paid)},sku-{n % 400},{chance.randint(1, 3)},{price}")
        engagement = ["merchant_action_id,merchant_member_id,merchant_content_id,action,occurred_at"]
        for n in range(self.counts["engagement"]):
            member, item = chance.randrange(len(self.joined)), chance.randrange(len(self.published))
            occurred = self._after(max(self.joined[member], self.published[item]))
            engagement.append(f"A{n},M{member},K{item},{chance.choice(ACTIONS)},{stamp(occurred)}")
        return {
            kind: ("\n".join(lines) + "\n").encode() for kind, lines in _in_order(members, content, orders, engagement)
        }

    def _after(self, moment: datetime) -> datetime:
        return moment + timedelta(seconds=self.chance.uniform(0, (self.now - moment).total_seconds()))


def _in_order(*files: list[str]) -> list[tuple[str, list[str]]]:
    # Upload order is run order (a tenant's jobs run one after another): members before what names them.
    return list(zip(("members", "content", "orders", "engagement"), files, strict=True))


async def measure(engine: str, history: History, files_of: Any) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as workdir:
        platform = await Platform.create(Path(workdir), SERVICES, engine=engine)
        try:
            async with tenant_api(platform) as (_tenant, api):
                opened = (history.start - timedelta(days=1)).isoformat()
                communities = [
                    (
                        await api.post(
                            "/communities",
                            json={"name": f"群{n}", "kind": "interest", "tier": "active", "opened_at": opened},
                        )
                    )
                    .raise_for_status()
                    .json()["id"]
                    for n in range(COMMUNITIES)
                ]
                files = files_of(communities)
                started = time.perf_counter()
                jobs = {}
                for kind, body in files.items():
                    accepted = await api.post(
                        "/imports", params={"kind": kind}, content=body, headers={"Content-Type": "text/csv"}
                    )
                    accepted.raise_for_status()
                    jobs[kind] = accepted.json()["id"]
                uploaded = time.perf_counter() - started
                finished = await _jobs_done(api, jobs, started)
                imported = time.perf_counter() - started
                taken = await _analytics_caught_up(platform, history, started)
                return {
                    "engine": engine,
                    "lines": {kind: body.count(b"\n") - 1 for kind, body in files.items()},
                    "megabytes": round(sum(len(body) for body in files.values()) / 1e6, 1),
                    "upload_seconds": round(uploaded, 1),
                    "jobs": finished,
                    "imported_seconds": round(imported, 1),
                    "records_per_second": round(sum(history.counts.values()) / imported),
                    "target_seconds": TARGET_SECONDS,
                    "within_target": imported < TARGET_SECONDS,
                    "analytics": taken,
                }
        finally:
            await platform.close()


async def _jobs_done(api: httpx.AsyncClient, jobs: dict[str, str], started: float) -> dict[str, Any]:
    done: dict[str, Any] = {}
    while len(done) < len(jobs):
        for kind, job_id in jobs.items():
            if kind in done:
                continue
            job = (await api.get(f"/imports/{job_id}")).raise_for_status().json()
            if job["status"] in ("done", "failed"):
                done[kind] = {
                    key: job[key] for key in ("status", "records", "created", "unchanged", "failed", "reason")
                } | {"done_after_seconds": round(time.perf_counter() - started, 1)}
        await asyncio.sleep(1)
    return done


async def _analytics_caught_up(platform: Platform, history: History, started: float) -> dict[str, Any]:
    """Waits (up to the target again) until analytics' inbox holds every event the import announced."""
    expected = {event: history.counts[kind] for event, kind in ANNOUNCED.items()}
    deadline = time.perf_counter() + TARGET_SECONDS
    while True:
        counted = await _inbox_counts(platform, list(expected))
        if all(counted.get(event, 0) >= count for event, count in expected.items()):
            return {"caught_up": True, "seconds": round(time.perf_counter() - started, 1), "events": counted}
        if time.perf_counter() > deadline:
            return {"caught_up": False, "seconds": None, "events": counted}
        await asyncio.sleep(2)


async def _inbox_counts(platform: Platform, events: list[str]) -> dict[str, int]:
    query = "SELECT event_type, count(*) FROM inbox WHERE outcome = 'processed' GROUP BY event_type"
    url = platform.databases["analytics-svc"]
    if platform.engine == "sqlite":
        path = url.split("///", 1)[1]

        def read() -> dict[str, int]:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30) as connection:
                return {event: count for event, count in connection.execute(query) if event in events}

        return await asyncio.to_thread(read)
    connection = await asyncpg.connect(plain_dsn(url))
    try:
        return {row[0]: row[1] for row in await connection.fetch(query) if row[0] in events}
    finally:
        await connection.close()


async def copy_reference(files: dict[str, bytes]) -> float:
    """COPY of the same four files into plain text-column tables of a scratch PostgreSQL database."""
    connection = await asyncpg.connect(POSTGRES_ADMIN_DSN)
    try:
        started = time.perf_counter()
        for kind, body in files.items():
            header = body.split(b"\n", 1)[0].decode().split(",")
            columns = ", ".join(f"{name} text" for name in header)
            await connection.execute(f"CREATE TEMP TABLE reference_{kind} ({columns})")
            await connection.copy_to_table(f"reference_{kind}", source=io.BytesIO(body), format="csv", header=True)
        return time.perf_counter() - started
    finally:
        await connection.close()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    history = History(members=args.members, items=args.items, orders=args.orders, actions=args.actions)
    results: dict[str, Any] = {"machine": await machine.describe(), "engines": {}}
    placeholder = [f"00000000-0000-0000-0000-{n:012d}" for n in range(COMMUNITIES)]
    results["reference_copy_seconds"] = round(await copy_reference(history.files(placeholder)), 1)
    for engine in args.engines:
        history = History(members=args.members, items=args.items, orders=args.orders, actions=args.actions)
        results["engines"][engine] = await measure(engine, history, history.files)
        measured = results["engines"][engine]
        measured["ratio_to_copy"] = round(measured["imported_seconds"] / results["reference_copy_seconds"], 1)
    return results


def table(results: dict[str, Any]) -> str:
    rows = []
    for engine, measured in results["engines"].items():
        lines = measured["lines"]
        caught = measured["analytics"]
        rows.append(
            (
                f"History import on {engine}: {lines['members']:,} members, {lines['content']:,} items, "
                f"{lines['orders']:,} orders, {lines['engagement']:,} actions ({measured['megabytes']} MB of CSV)",
                f"{measured['imported_seconds']:,} s ({measured['records_per_second']:,} records/s)",
                f"target < {measured['target_seconds']} s; COPY of the same files {results['reference_copy_seconds']} s "
                f"(import = {measured['ratio_to_copy']}x COPY); analytics caught up "
                + (f"after {caught['seconds']:,} s" if caught["caught_up"] else "not within the target again"),
            )
        )
    return markdown(rows)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--items", type=int, default=2_000)
    parser.add_argument("--orders", type=int, default=300_000)
    parser.add_argument("--actions", type=int, default=1_000_000)
    parser.add_argument("--engines", nargs="+", default=["postgresql", "sqlite"])
    parser.add_argument("--output", default=str(RESULTS))
    return parser.parse_args()


if __name__ == "__main__":
    run_suite(main, arguments(), table)
