"""`python -m bench.content`: content-svc's targets on the real processes, each beside a same-run reference.

- Moderation of a 10 KB text against a 10,000-term lexicon — vs one regular expression of all the terms.
- Engagement ingestion through the gateway in batches — vs the same rows COPYed into the table.
- A member's feed with 100,000 items published to their communities (20 a day in each): p50/p95/p99 of
  first and next pages — vs the newest page
  of one community as hand-written SQL over asyncpg.
"""

import argparse
import asyncio
import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from bench import machine, moderation
from bench.bus_path import plain_dsn
from bench.latency import summary
from bench.report import markdown, run_suite
from bench.world import platform_with_tenant
from qunyun_shared.testing import eventually
from tests.support.harness import ROOT, Platform, TenantKey

RESULTS = ROOT / "bench/results/content_svc.json"
TOPICS = [f"话题{i:02d}" for i in range(40)]
ACTIONS = ["view", "view", "view", "complete", "like", "comment", "share", "click"]
COMMUNITIES = 5
BATCH = 500
# 20 items a day into each of the reader's communities: the top of the domain's "15-20 useful messages
# a day per group". 100,000 items are then 2.7 years of publishing.
PUBLISHING_INTERVAL = timedelta(days=1) / (20 * COMMUNITIES)


async def seed(platform: Platform, tenant_id: str, communities: list[str], items: int) -> tuple[str, list[uuid.UUID]]:
    """`items` published items spread over `communities`, a reader in all of them with tags and an
    affinity, straight into content-svc's tables (COPY). Returns the reader and the item ids."""
    connection = await asyncpg.connect(plain_dsn(platform.databases["content-svc"]))
    reader = uuid.uuid4()
    now = datetime.now(UTC)
    ids = [uuid.uuid4() for _ in range(items)]
    try:
        content = []
        placements = []
        for n, item_id in enumerate(ids):
            published = now - n * PUBLISHING_INTERVAL
            targeted = n % 10 == 0  # a tenth is for a tag the reader does not carry
            content.append(
                (
                    item_id,
                    tenant_id,
                    "knowledge",
                    "PGC",
                    f"第{n}篇",
                    "正文" * 50,
                    "[]",
                    json.dumps(random.sample(TOPICS, 2), ensure_ascii=False),
                    "[]",
                    "[]",
                    '["健身爱好者"]' if targeted else "[]",
                    "ready",
                    "pass",
                    "[]",
                    published,
                    published,
                )
            )
            placements.append(
                (
                    uuid.uuid4(),
                    tenant_id,
                    item_id,
                    uuid.UUID(communities[n % len(communities)]),
                    "knowledge",
                    published,
                    "published",
                    published,
                    1000,
                )
            )
        await connection.copy_records_to_table(
            "content_items",
            records=content,
            columns=[
                "id",
                "tenant_id",
                "content_type",
                "source",
                "title",
                "body",
                "media",
                "tags",
                "target_communities",
                "target_segments",
                "target_tags",
                "status",
                "moderation_outcome",
                "moderation_reasons",
                "created_at",
                "updated_at",
            ],
        )
        await connection.copy_records_to_table(
            "placements",
            records=placements,
            columns=[
                "id",
                "tenant_id",
                "content_id",
                "community_id",
                "content_type",
                "publish_at",
                "status",
                "published_at",
                "audience_size",
            ],
        )
        await connection.copy_records_to_table(
            "audience_members",
            records=[(uuid.UUID(c), reader, tenant_id, now) for c in communities],
            columns=["community_id", "member_id", "tenant_id", "joined_at"],
        )
        await connection.copy_records_to_table(
            "member_tags", records=[(reader, "宝妈", tenant_id)], columns=["member_id", "tag", "tenant_id"]
        )
        await connection.copy_records_to_table(
            "member_affinity",
            records=[(reader, tag, tenant_id, random.uniform(1, 50)) for tag in TOPICS[:8]],
            columns=["member_id", "tag", "tenant_id", "weight"],
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return str(reader), ids


async def measure_feed(platform: Platform, tenant: TenantKey, api: httpx.AsyncClient, reader: str) -> dict[str, Any]:
    direct = httpx.AsyncClient(base_url=platform.url("content-svc"), headers=platform.identity_header(tenant.tenant_id))
    results: dict[str, Any] = {}
    try:
        for name, client, prefix in (("gateway", api, ""), ("direct", direct, "")):
            path = f"{prefix}/content/members/{reader}/feed"
            await client.get(path)  # warm the pools
            samples = []
            for _ in range(100):
                cursor = None
                for _page in range(3):
                    started = time.perf_counter()
                    page = await client.get(path, params={"limit": 20, **({"cursor": cursor} if cursor else {})})
                    samples.append((time.perf_counter() - started) * 1000)
                    page.raise_for_status()
                    cursor = page.json()["next_cursor"]
            results[name] = summary(samples) | {"requests": len(samples)}
    finally:
        await direct.aclose()
    connection = await asyncpg.connect(plain_dsn(platform.databases["content-svc"]))
    try:
        statement = await connection.prepare(
            """SELECT p.*, c.* FROM placements p JOIN content_items c ON c.id = p.content_id
               WHERE p.community_id = (SELECT community_id FROM audience_members WHERE member_id = $1 LIMIT 1)
                 AND p.status = 'published' ORDER BY p.published_at DESC, p.id DESC LIMIT 21"""
        )
        samples = []
        for _ in range(300):
            started = time.perf_counter()
            await statement.fetch(uuid.UUID(reader))
            samples.append((time.perf_counter() - started) * 1000)
        results["sql_reference"] = summary(samples)
    finally:
        await connection.close()
    results["target_p95_ms"] = 50
    results["gateway_p95_ratio_to_sql"] = round(results["gateway"]["p95_ms"] / results["sql_reference"]["p95_ms"], 1)
    return results


def engagement_batches(item_ids: list[uuid.UUID], members: list[str], total: int) -> list[list[dict[str, str]]]:
    occurred_at = datetime.now(UTC).isoformat()
    rows = [
        {
            "id": str(uuid.uuid4()),
            "content_id": str(random.choice(item_ids)),
            "member_id": random.choice(members),
            "action": random.choice(ACTIONS),
            "occurred_at": occurred_at,
        }
        for _ in range(total)
    ]
    return [rows[i : i + BATCH] for i in range(0, total, BATCH)]


async def measure_engagement(
    platform: Platform, api: httpx.AsyncClient, item_ids: list[uuid.UUID], actions: int, concurrency: int
) -> dict[str, Any]:
    members = [str(uuid.uuid4()) for _ in range(5_000)]
    batches = engagement_batches(item_ids, members, actions)
    queue = list(batches)
    accepted = 0

    async def sender() -> None:
        nonlocal accepted
        while queue:
            batch = queue.pop()
            response = await api.post("/content/engagements", json={"actions": batch})
            response.raise_for_status()
            accepted += response.json()["accepted"]

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    seconds = time.perf_counter() - started
    reference = await copy_reference(platform, [row for batch in batches for row in batch])
    return {
        "actions": actions,
        "batch": BATCH,
        "concurrency": concurrency,
        "accepted": accepted,
        "seconds": round(seconds, 2),
        "actions_per_second": round(accepted / seconds),
        "target_actions_per_second": 2000,
        "reference_copy_seconds": round(reference, 3),
        "ratio_to_copy": round(seconds / reference, 1),
    }


async def copy_reference(platform: Platform, rows: list[dict[str, str]]) -> float:
    """The same actions COPYed into a bare copy of the engagements table: the database's floor."""
    connection = await asyncpg.connect(plain_dsn(platform.databases["content-svc"]))
    try:
        await connection.execute("CREATE TABLE engagements_copy_reference (LIKE engagements INCLUDING ALL)")
        records = [
            (
                uuid.UUID(r["id"]),
                "t",
                uuid.UUID(r["content_id"]),
                uuid.UUID(r["member_id"]),
                None,
                r["action"],
                datetime.fromisoformat(r["occurred_at"]),
            )
            for r in rows
        ]
        started = time.perf_counter()
        await connection.copy_records_to_table(
            "engagements_copy_reference",
            records=records,
            columns=["id", "tenant_id", "content_id", "member_id", "community_id", "action", "occurred_at"],
        )
        return time.perf_counter() - started
    finally:
        await connection.execute("DROP TABLE engagements_copy_reference")
        await connection.close()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    async with platform_with_tenant(["member-svc", "content-svc", "gateway"]) as (platform, tenant, api):
        communities = []
        for i in range(COMMUNITIES):
            created = await api.post("/communities", json={"name": f"内容压测群{i}", "kind": "vertical"})
            communities.append(created.json()["id"])

        async def known() -> None:
            for community_id in communities:
                (await api.get(f"/content/communities/{community_id}/audience")).raise_for_status()

        await eventually(known)
        reader, item_ids = await seed(platform, tenant.tenant_id, communities, args.feed_items)
        feed = await measure_feed(platform, tenant, api, reader) | {"items": args.feed_items}
        engagement = await measure_engagement(platform, api, item_ids, args.actions, args.concurrency)
    return {
        "machine": await machine.describe(),
        "moderation": moderation.run(),
        "engagement": engagement,
        "feed": feed,
    }


def table(results: dict[str, Any]) -> str:
    moderated, engagement, feed = results["moderation"], results["engagement"], results["feed"]
    rows = [
        (
            f"Moderation of a {moderated['text_bytes'] // 1024} KB text against {moderated['lexicon_terms']:,} terms",
            f"p50 {moderated['moderate']['p50_ms']} ms · p95 {moderated['moderate']['p95_ms']} ms",
            f"target < 1 ms; term matching by one regex of all terms p50 "
            f"{moderated['term_matching']['re_alternation']['p50_ms']} ms "
            f"({moderated['term_matching']['ratio_re_to_aho_corasick']}x the Aho-Corasick pass)",
        ),
        (
            f"Engagement ingestion via the gateway, batches of {engagement['batch']}, "
            f"{engagement['concurrency']} clients",
            f"{engagement['actions_per_second']:,} actions/s ({engagement['actions']:,} in {engagement['seconds']} s)",
            f"target ≥ 2,000/s; COPY of the same rows {engagement['reference_copy_seconds']} s "
            f"(ingestion = {engagement['ratio_to_copy']}x COPY)",
        ),
        (
            f"Member feed, {feed['items']:,} published items, pages of 20, via the gateway",
            f"p50 {feed['gateway']['p50_ms']} ms · p95 {feed['gateway']['p95_ms']} ms · p99 {feed['gateway']['p99_ms']} ms",
            f"target p95 < 50 ms; straight to content-svc p95 {feed['direct']['p95_ms']} ms; "
            f"one community's newest page in SQL p95 {feed['sql_reference']['p95_ms']} ms",
        ),
    ]
    return markdown(rows)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--feed-items", type=int, default=100_000)
    parser.add_argument("--actions", type=int, default=60_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--output", default=str(RESULTS))
    return parser.parse_args()


if __name__ == "__main__":
    run_suite(main, arguments(), table)
