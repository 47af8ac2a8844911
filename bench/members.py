"""`python -m bench.members`: member-svc's targets on the real processes, each beside a same-run reference.

- CSV import of 100,000 members through the gateway, until the job is done — vs COPY of the same rows.
- Member search with 1,000,000 members: p50/p95/p99 of filtered pages — vs the same SQL over asyncpg.
- 200 concurrent point earns and spends on one member through the gateway — exact balance checked —
  vs 200 concurrent bare balance UPDATEs on one row.
"""

import argparse
import asyncio
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from bench import machine
from bench.bus_path import plain_dsn
from bench.latency import summary
from bench.report import markdown, run_suite
from bench.world import platform_with_tenant
from member_svc.members.service import phone_owner
from member_svc.personal_data.cipher import PersonalDataCipher
from tests.support.harness import ROOT, Platform, TenantKey

RESULTS = ROOT / "bench/results/member_svc.json"
REGIONS = ["上海", "北京", "杭州", "广州", "深圳", "成都", "武汉", "南京", "苏州", "西安"]
TAGS = [f"标签{i:02d}" for i in range(50)]
SEGMENTS = ["high_value", "potential", "ordinary", "churn_risk"]
SEGMENT_WEIGHTS = [15, 30, 45, 10]
LIFECYCLES = ["prospect", "active", "loyal"]


def import_csv(rows: int) -> bytes:
    header = "nickname,phone,gender,age_band,region,persona_tags,active_hours,tags\n"
    lines = [
        f"会员{i},13{i:09d},{random.choice(['female', 'male'])},25-34,{random.choice(REGIONS)},宝妈|烘焙,20|21,"
        f"{random.choice(TAGS)}|{random.choice(TAGS)}\n"
        for i in range(rows)
    ]
    return (header + "".join(lines)).encode()


async def measure_import(platform: Platform, api: httpx.AsyncClient, rows: int) -> dict[str, Any]:
    upload = import_csv(rows)
    started = time.perf_counter()
    accepted = await api.post("/members/imports", content=upload, headers={"Content-Type": "text/csv"})
    accepted.raise_for_status()
    upload_seconds = time.perf_counter() - started
    job_id = accepted.json()["id"]
    while True:
        progress = (await api.get(f"/members/imports/{job_id}")).json()
        if progress["status"] == "done":
            break
        await asyncio.sleep(0.25)
    seconds = time.perf_counter() - started
    reference = await copy_reference(platform, rows)
    return {
        "rows": rows,
        "csv_bytes": len(upload),
        "imported": progress["imported"],
        "failed": progress["failed"],
        "upload_seconds": round(upload_seconds, 2),
        "seconds": round(seconds, 2),
        "rows_per_second": round(rows / seconds),
        "target_seconds": 60,
        "reference_copy_seconds": round(reference, 2),
        "ratio_to_copy": round(seconds / reference, 1),
    }


async def copy_reference(platform: Platform, rows: int) -> float:
    """COPY of as many member rows (already encrypted) into a scratch copy of the members table."""
    cipher = PersonalDataCipher(platform.personal_data_key)
    records = [member_record(cipher, "copy-reference", i) for i in range(rows)]
    connection = await asyncpg.connect(plain_dsn(platform.databases["member-svc"]))
    try:
        await connection.execute("CREATE TABLE members_copy_reference (LIKE members INCLUDING ALL)")
        started = time.perf_counter()
        await connection.copy_records_to_table("members_copy_reference", records=records, columns=MEMBER_COLUMNS)
        seconds = time.perf_counter() - started
        await connection.execute("DROP TABLE members_copy_reference")
        return seconds
    finally:
        await connection.close()


MEMBER_COLUMNS = [
    "id",
    "tenant_id",
    "nickname",
    "gender",
    "age_band",
    "region",
    "persona_tags",
    "active_hours",
    "level",
    "lifecycle",
    "segment",
    "churn_risk",
    "phone_encrypted",
    "phone_hash",
    "created_at",
]


def member_record(cipher: PersonalDataCipher, tenant_id: str, index: int) -> tuple[Any, ...]:
    member_id = uuid.uuid4()
    phone = f"15{index:09d}"
    return (
        member_id,
        tenant_id,
        f"会员{index}",
        random.choice(["female", "male"]),
        random.choice(["18-24", "25-34", "35-44"]),
        random.choice(REGIONS),
        '["宝妈"]',
        "[20, 21]",
        random.choice([0, 0, 0, 1, 1, 2, 3]),
        random.choice(LIFECYCLES),
        random.choices(SEGMENTS, SEGMENT_WEIGHTS)[0],
        random.random() < 0.1,
        cipher.encrypt(phone, owner=phone_owner(tenant_id, member_id)),
        cipher.lookup_hash(phone, tenant_id=tenant_id),
        datetime.now(UTC),
    )


async def seed_members(platform: Platform, tenant_id: str, count: int, communities: list[str]) -> float:
    """Loads `count` members with tags and memberships straight into member-svc's tables (COPY)."""
    cipher = PersonalDataCipher(platform.personal_data_key)
    connection = await asyncpg.connect(plain_dsn(platform.databases["member-svc"]))
    started = time.perf_counter()
    try:
        batch = 100_000
        for offset in range(0, count, batch):
            members = [member_record(cipher, tenant_id, offset + i) for i in range(min(batch, count - offset))]
            await connection.copy_records_to_table("members", records=members, columns=MEMBER_COLUMNS)
            now = datetime.now(UTC)
            tags = [
                (m[0], tag, tenant_id, "manual", now)
                for m in members
                for tag in set(random.sample(TAGS, random.randint(1, 3)))
            ]
            await connection.copy_records_to_table(
                "member_tags", records=tags, columns=["member_id", "tag", "tenant_id", "kind", "added_at"]
            )
            seats = [(uuid.UUID(random.choice(communities)), m[0], tenant_id, "import", now) for m in members]
            await connection.copy_records_to_table(
                "memberships", records=seats, columns=["community_id", "member_id", "tenant_id", "channel", "joined_at"]
            )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return time.perf_counter() - started


def search_queries(communities: list[str]) -> list[list[tuple[str, str]]]:
    """The filters operators combine, each a page of 50."""
    queries: list[list[tuple[str, str]]] = []
    for _ in range(20):
        queries += [
            [("tag", random.choice(TAGS))],
            [("tag", random.choice(TAGS)), ("region", random.choice(REGIONS))],
            [("segment", random.choice(SEGMENTS)), ("lifecycle", random.choice(LIFECYCLES))],
            [("community_id", random.choice(communities)), ("tag", random.choice(TAGS))],
            [("churn_risk", "true"), ("min_level", "2")],
            [("any_tag", random.choice(TAGS)), ("any_tag", random.choice(TAGS)), ("gender", "female")],
        ]
    return queries


async def measure_search(
    platform: Platform, tenant: TenantKey, api: httpx.AsyncClient, members: int, communities: list[str]
) -> dict[str, Any]:
    seeding = await seed_members(platform, tenant.tenant_id, members, communities)
    queries = search_queries(communities)
    direct = httpx.AsyncClient(base_url=platform.url("member-svc"), headers=platform.identity_header(tenant.tenant_id))
    results: dict[str, Any] = {"members": members, "seed_seconds": round(seeding, 1), "queries": len(queries)}
    try:
        for name, client in (("gateway", api), ("direct", direct)):
            await client.get("/members", params=queries[0])  # warm the pools
            samples, second_pages = [], 0
            for query in queries:
                started = time.perf_counter()
                page = await client.get("/members", params=[*query, ("limit", "50")])
                samples.append((time.perf_counter() - started) * 1000)
                page.raise_for_status()
                if cursor := page.json()["next_cursor"]:
                    started = time.perf_counter()
                    (
                        await client.get("/members", params=[*query, ("limit", "50"), ("cursor", cursor)])
                    ).raise_for_status()
                    samples.append((time.perf_counter() - started) * 1000)
                    second_pages += 1
            results[name] = summary(samples) | {"requests": len(samples), "second_pages": second_pages}
    finally:
        await direct.aclose()
    results["sql_reference"] = await sql_reference(platform, tenant.tenant_id, queries)
    results["target_p95_ms"] = 50
    results["gateway_p95_ratio_to_sql"] = round(results["gateway"]["p95_ms"] / results["sql_reference"]["p95_ms"], 1)
    return results


async def sql_reference(platform: Platform, tenant_id: str, queries: list[list[tuple[str, str]]]) -> dict[str, float]:
    """The tag and tag+region pages as hand-written SQL over asyncpg: the database's own floor."""
    connection = await asyncpg.connect(plain_dsn(platform.databases["member-svc"]))
    sql = """
        SELECT m.* FROM members m
        WHERE m.tenant_id = $1 AND m.erased_at IS NULL
          AND EXISTS (SELECT 1 FROM member_tags t WHERE t.member_id = m.id AND t.tag = $2)
        ORDER BY m.id LIMIT 51"""
    try:
        statement = await connection.prepare(sql)
        samples = []
        for query in queries:
            tag = next((value for name, value in query if name == "tag"), TAGS[0])
            started = time.perf_counter()
            await statement.fetch(tenant_id, tag)
            samples.append((time.perf_counter() - started) * 1000)
        return summary(samples)
    finally:
        await connection.close()


async def measure_points(platform: Platform, api: httpx.AsyncClient, operations: int) -> dict[str, Any]:
    member_id = (await api.post("/members", json={"nickname": "积分压测"})).json()["id"]
    (await api.post(f"/members/{member_id}/points/grants", json={"points": 1000})).raise_for_status()

    async def earn(i: int) -> httpx.Response:
        return await api.post(
            f"/members/{member_id}/points/grants", json={"points": 7}, headers={"Idempotency-Key": f"e{i}"}
        )

    async def spend(i: int) -> httpx.Response:
        return await api.post(
            f"/members/{member_id}/points/spend", json={"points": 11}, headers={"Idempotency-Key": f"s{i}"}
        )

    started = time.perf_counter()
    responses = await asyncio.gather(*(op(i) for i in range(operations // 2) for op in (earn, spend)))
    seconds = time.perf_counter() - started
    accepted = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code == 409]
    summary = (await api.get(f"/members/{member_id}/points")).json()
    expected = 1000 + sum(r.json()["delta"] for r in accepted)
    reference = await row_update_reference(platform, operations)
    return {
        "operations": operations,
        "accepted": len(accepted),
        "refused_insufficient": len(refused),
        "errors": len(responses) - len(accepted) - len(refused),
        "balance": summary["balance"],
        "expected_balance": expected,
        "exact": summary["balance"] == expected,
        "seconds": round(seconds, 3),
        "operations_per_second": round(operations / seconds),
        "reference_row_updates_seconds": round(reference, 3),
        "ratio_to_row_updates": round(seconds / reference, 1),
    }


async def row_update_reference(platform: Platform, operations: int) -> float:
    """As many concurrent one-row balance UPDATEs over asyncpg: the lock-serialised floor."""
    pool = await asyncpg.create_pool(plain_dsn(platform.databases["member-svc"]), min_size=20, max_size=20)
    try:
        await pool.execute("CREATE TABLE balance_reference (id int PRIMARY KEY, balance int CHECK (balance >= 0))")
        await pool.execute("INSERT INTO balance_reference VALUES (1, 1000)")
        started = time.perf_counter()
        await asyncio.gather(
            *(
                pool.execute("UPDATE balance_reference SET balance = balance + $1 WHERE id = 1", 7 if i % 2 else -11)
                for i in range(operations)
            ),
            return_exceptions=True,
        )
        seconds = time.perf_counter() - started
        await pool.execute("DROP TABLE balance_reference")
        return seconds
    finally:
        await pool.close()


async def main(args: argparse.Namespace) -> dict[str, Any]:
    async with platform_with_tenant(["member-svc", "gateway"]) as (platform, tenant, api):
        communities = []
        for i in range(100):
            created = await api.post(
                "/communities", json={"name": f"压测群{i}", "kind": "vertical", "capacity": 100_000}
            )
            communities.append(created.json()["id"])
        imported = await measure_import(platform, api, args.import_rows)
        points = await measure_points(platform, api, args.point_operations)
        search = await measure_search(platform, tenant, api, args.search_members, communities)
    return {
        "machine": await machine.describe(),
        "import": imported,
        "search": search,
        "points": points,
    }


def table(results: dict[str, Any]) -> str:
    imported, search, points = results["import"], results["search"], results["points"]
    rows = [
        (
            f"CSV import of {imported['rows']:,} members via the gateway, until done",
            f"{imported['seconds']:,} s ({imported['rows_per_second']:,} rows/s)",
            f"target ≤ 60 s; COPY of the same rows {imported['reference_copy_seconds']} s "
            f"(import = {imported['ratio_to_copy']}x COPY)",
        ),
        (
            f"Member search, {search['members']:,} members, page of 50, via the gateway",
            f"p50 {search['gateway']['p50_ms']} ms · p95 {search['gateway']['p95_ms']} ms · "
            f"p99 {search['gateway']['p99_ms']} ms",
            f"target p95 < 50 ms; straight to member-svc p95 {search['direct']['p95_ms']} ms; "
            f"hand-written SQL p95 {search['sql_reference']['p95_ms']} ms",
        ),
        (
            f"{points['operations']} concurrent point earns and spends on one member via the gateway",
            f"{points['seconds']} s ({points['operations_per_second']:,} ops/s), balance exact: {points['exact']}",
            f"{points['accepted']} accepted, {points['refused_insufficient']} refused (balance), "
            f"{points['errors']} errors; bare row UPDATEs {points['reference_row_updates_seconds']} s",
        ),
    ]
    return markdown(rows)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--import-rows", type=int, default=100_000)
    parser.add_argument("--search-members", type=int, default=1_000_000)
    parser.add_argument("--point-operations", type=int, default=200)
    parser.add_argument("--output", default=str(RESULTS))
    return parser.parse_args()


if __name__ == "__main__":
    run_suite(main, arguments(), table)
