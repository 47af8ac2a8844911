"""`python -m bench.analytics`: analytics-svc's targets on the real processes, each beside a same-run reference.

- Ingestion: months of community life produced onto the topics and consumed by analytics-svc — events/s
  until every event is in its inbox — vs raw aiokafka consuming the same records.
- Event → segment: a member's paid order produced on the bus until their new scores are readable,
  p50/p95/p99 — vs the order's own hop from producer to consumer.
- KPI queries over the projections analytics-svc's own consumer builds from 500,000 events generated in
  DuckDB and produced onto the topics: p50/p95/p99 via the gateway and straight to analytics-svc — vs DuckDB
  answering each from the raw events (answers compared).
- RFM and churn scoring of 1,000,000 members (the full recompute, in process, on PostgreSQL) — vs the same
  quintiles and churn score in DuckDB on the same rows.
"""

import argparse
import asyncio
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from datetime import time as time_of_day
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
import duckdb
import httpx
import numpy as np
import pandas
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncSession

from analytics_svc.db import MESSAGING
from analytics_svc.scoring import segments
from bench import machine
from bench.bus_path import plain_dsn
from bench.latency import summary
from bench.report import markdown, run_suite
from bench.world import platform_with_tenant, tenant_api
from qunyun_shared.db import create_engine
from qunyun_shared.events import new_event
from qunyun_shared.events.base import spec_for
from qunyun_shared.events.campaign import OrderPaidV1, OrderPlacedV1
from qunyun_shared.events.content import ContentEngagedV1
from qunyun_shared.events.kafka_binding import to_kafka
from qunyun_shared.events.member import MemberJoinedV1
from qunyun_shared.outbox import Outbox
from qunyun_shared.testing import eventually
from qunyun_shared.topics import topic_for
from tests.support.community_life import community_life
from tests.support.harness import KAFKA_BOOTSTRAP, ROOT, Platform, TenantKey

RESULTS = ROOT / "bench/results/analytics_svc.json"


async def analytics_db(platform: Platform) -> asyncpg.Connection:
    return await asyncpg.connect(plain_dsn(platform.databases["analytics-svc"]))


async def measure_ingestion(platform: Platform, tenant: TenantKey, members: int) -> dict[str, Any]:
    events = community_life(random.Random(3), members=members)
    records = []
    for payload in events:
        record = to_kafka(new_event(source="bench", tenant_id=tenant.tenant_id, payload=payload))
        records.append((topic_for(platform.prefix, spec_for(type(payload))), record))
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA_BOOTSTRAP, linger_ms=5, max_batch_size=256 * 1024)
    connection = await analytics_db(platform)
    try:
        before = await connection.fetchval("SELECT count(*) FROM inbox")
        await producer.start()
        started = time.perf_counter()
        for topic, record in records:
            await producer.send(topic, record.value, key=record.key, headers=record.headers)
        await producer.flush()
        produced = time.perf_counter() - started

        async def all_in() -> None:
            assert await connection.fetchval("SELECT count(*) FROM inbox") >= before + len(records)

        await eventually(all_in, timeout=900, interval=0.2)
        seconds = time.perf_counter() - started
    finally:
        await producer.stop()
        await connection.close()
    reference = await raw_consume(sorted({topic for topic, _ in records}), len(records))
    return {
        "events": len(records),
        "members": members,
        "seconds": round(seconds, 2),
        "events_per_second": round(len(records) / seconds),
        "produce_seconds": round(produced, 2),
        "target_events_per_second": 5000,
        "raw_consume_per_second": round(reference),
        "ratio_to_raw_consume": round(len(records) / seconds / reference, 3),
    }


async def raw_consume(topics: list[str], count: int) -> float:
    """Bare aiokafka reading the same records from the start, in a group of its own: records/s."""
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=KAFKA_BOOTSTRAP, group_id=f"bench-{uuid.uuid4().hex}", auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        seen, started = 0, time.perf_counter()
        while seen < count:
            batches = await consumer.getmany(timeout_ms=500, max_records=5000)
            seen += sum(len(records) for records in batches.values())
        return seen / (time.perf_counter() - started)
    finally:
        await consumer.stop()


async def measure_segment_latency(platform: Platform, tenant: TenantKey, rate: int, seconds: float) -> dict[str, Any]:
    """Paid orders of existing members offered open-loop; each one's latency runs from just before its
    produce to the first poll (every 20 ms) that shows its member's new scores."""
    connection = await analytics_db(platform)
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA_BOOTSTRAP, linger_ms=0)
    await producer.start()
    try:
        rows = await connection.fetch(
            "SELECT member_id, orders FROM member_facts WHERE tenant_id = $1 LIMIT $2",
            tenant.tenant_id,
            int(rate * seconds),
        )
        pending: dict[uuid.UUID, tuple[int, float]] = {}
        latencies: list[float] = []
        topic = topic_for(platform.prefix, spec_for(OrderPaidV1))

        async def watch() -> None:
            while pending or not sending.done():
                if pending:
                    found = await connection.fetch(
                        "SELECT member_id, orders FROM member_facts WHERE member_id = ANY($1::uuid[])", list(pending)
                    )
                    seen = time.perf_counter()
                    for member_id, orders in found:
                        expected, sent = pending[member_id]
                        if orders >= expected:
                            latencies.append((seen - sent) * 1000)
                            del pending[member_id]
                await asyncio.sleep(0.02)

        async def send() -> None:
            started = time.perf_counter()
            for index, row in enumerate(rows):
                delay = started + index / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                order_id, now = uuid.uuid4(), datetime.now(UTC)
                placed = OrderPlacedV1(order_id=order_id, member_id=row["member_id"], amount_fen=8_800, placed_at=now)
                paid = OrderPaidV1(order_id=order_id, member_id=row["member_id"], amount_fen=8_800, paid_at=now)
                pending[row["member_id"]] = (row["orders"] + 1, time.perf_counter())
                for payload in (placed, paid):
                    record = to_kafka(new_event(source="bench", tenant_id=tenant.tenant_id, payload=payload))
                    await producer.send(topic, record.value, key=record.key, headers=record.headers)

        sending = asyncio.create_task(send())
        await asyncio.wait_for(asyncio.gather(sending, watch()), timeout=seconds + 60)
    finally:
        await producer.stop()
        await connection.close()
    return {
        "orders": len(rows),
        "offered_per_second": rate,
        "measured": len(latencies),
        **summary(latencies, digits=1),
        "target_p95_ms": 1000,
        "timing": "from just before the order's events are produced to the first poll showing its member rescored",
    }


def generate_events(duck: duckdb.DuckDBPyConnection, events: int, members: int, communities: int, days: int) -> None:
    """10M raw events in DuckDB: every member joins one community on some day, then acts on later days."""
    duck.execute(
        f"""
        CREATE TABLE joins AS
          SELECT m AS member, (hash(m) % {communities})::INT AS community, (hash(m * 7) % {days // 2})::INT AS day
          FROM range({members}) t(m);
        CREATE TABLE events AS
          SELECT j.member, j.community,
                 least({days} - 1, j.day + (hash(i * 13) % {days})::INT) AS day,
                 ['view','view','view','like','comment','share','order'][1 + (hash(i * 17) % 7)::INT] AS action,
                 CASE WHEN hash(i * 17) % 7 = 6 THEN 1000 + (hash(i * 19) % 50000)::INT ELSE 0 END AS amount
          FROM range({events}) t(i) JOIN joins j ON j.member = (hash(i) % {members})::INT;
        """
    )


MEMBERS, CONTENT, ORDERS = 2 << 96, 3 << 96, 4 << 96  # id ranges of the generated members, items and orders
CHINA = ZoneInfo("Asia/Shanghai")  # the events happen at noon there, mid-way through analytics' reporting day


def community_id(index: int) -> uuid.UUID:
    return uuid.UUID(int=1_000 + index)


async def produce_history(duck: duckdb.DuckDBPyConnection, platform: Platform, tenant_id: str, first_day: date) -> int:
    """The generated joins, engagements and orders as the events member-svc, content-svc and campaign-svc
    publish, produced onto the topics for analytics-svc's own consumer to build its projections from;
    returns how many."""

    def at(day: int) -> datetime:
        return datetime.combine(first_day + timedelta(day), time_of_day.min, CHINA) + timedelta(hours=12)

    def payloads() -> Any:
        for member, community, day in duck.execute("SELECT member, community, day FROM joins").fetchall():
            yield MemberJoinedV1(
                member_id=uuid.UUID(int=MEMBERS | member),
                community_id=community_id(community),
                channel="qr",
                joined_at=at(day),
            )
        rows = duck.execute("SELECT row_number() OVER (), member, community, day, action, amount FROM events")
        while chunk := rows.fetchmany(50_000):
            for number, member, community, day, action, amount in chunk:
                member_id, place, moment = uuid.UUID(int=MEMBERS | member), community_id(community), at(day)
                if action == "order":
                    order_id = uuid.UUID(int=ORDERS | number)
                    yield OrderPlacedV1(
                        order_id=order_id, member_id=member_id, community_id=place, amount_fen=amount, placed_at=moment
                    )
                    yield OrderPaidV1(order_id=order_id, member_id=member_id, amount_fen=amount, paid_at=moment)
                else:
                    yield ContentEngagedV1(
                        content_id=uuid.UUID(int=CONTENT | community),
                        member_id=member_id,
                        community_id=place,
                        content_type="knowledge",
                        action=action,
                        occurred_at=moment,
                    )

    producer = AIOKafkaProducer(bootstrap_servers=KAFKA_BOOTSTRAP, linger_ms=5, max_batch_size=256 * 1024)
    await producer.start()
    produced = 0
    try:
        for payload in payloads():
            record = to_kafka(new_event(source="bench", tenant_id=tenant_id, payload=payload))
            topic = topic_for(platform.prefix, spec_for(type(payload)))
            await producer.send(topic, record.value, key=record.key, headers=record.headers)
            produced += 1
        await producer.flush()
    finally:
        await producer.stop()
    return produced


async def measure_kpi_queries(
    platform: Platform, tenant: TenantKey, api: httpx.AsyncClient, events: int
) -> dict[str, Any]:
    days, first_day = 365, date(2025, 1, 1)
    duck = duckdb.connect()
    generate_events(duck, events, members=50_000, communities=100, days=days)
    connection = await analytics_db(platform)
    try:
        before = await connection.fetchval("SELECT count(*) FROM inbox")
        started = time.perf_counter()
        produced = await produce_history(duck, platform, tenant.tenant_id, first_day)

        async def all_in() -> None:
            assert await connection.fetchval("SELECT count(*) FROM inbox") >= before + produced

        await eventually(all_in, timeout=3600, interval=1.0)
        seeded = time.perf_counter() - started
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    last = first_day + timedelta(days - 1)
    community = str(community_id(7))
    queries = [
        ("mau", {"from": first_day, "to": last, "granularity": "month"}),
        ("dau", {"from": last - timedelta(89), "to": last, "granularity": "day", "community_id": community}),
        ("weekly_active_rate", {"from": last - timedelta(181), "to": last, "granularity": "week"}),
        ("gmv_fen", {"from": first_day, "to": last, "granularity": "month"}),
        ("interaction_rate", {"from": first_day, "to": last, "granularity": "month", "community_id": community}),
    ]
    direct = httpx.AsyncClient(
        base_url=platform.url("analytics-svc"), headers=platform.identity_header(tenant.tenant_id), timeout=60
    )
    results: dict[str, Any] = {
        "events": events,
        "bus_events": produced,
        "projections": "built by analytics-svc's own consumer from the generated history produced onto the topics "
        "(joins, engagements, orders placed and paid), as member-svc, content-svc and campaign-svc publish it",
        "ingestion_seconds": round(seeded, 1),
        "queries": [q for q, _ in queries],
    }
    try:
        answers = {}
        for name, client, prefix in (("gateway", api, ""), ("direct", direct, "")):
            samples = []
            for _ in range(20):
                for kpi, params in queries:
                    query = {k: str(v) for k, v in params.items()}
                    started = time.perf_counter()
                    response = await client.get(f"{prefix}/analytics/kpis/{kpi}", params=query)
                    samples.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                    answers[kpi] = response.json()["points"]
            results[name] = summary(samples, digits=1) | {"requests": len(samples)}
    finally:
        await direct.aclose()
    mau_sql = f"""
        SELECT m, (SELECT count(DISTINCT member) FROM events
                   WHERE day BETWEEN m_end - 29 AND m_end) FROM (
          SELECT month AS m, max(day) AS m_end FROM (
            SELECT range AS day, date_trunc('month', DATE '{first_day}' + range::INT) AS month FROM range({days})
          ) GROUP BY month) ORDER BY m"""
    gmv_sql = f"""SELECT date_trunc('month', DATE '{first_day}' + day), sum(amount) FROM events
                  WHERE action = 'order' GROUP BY 1 ORDER BY 1"""
    timings = []
    for _ in range(5):
        started = time.perf_counter()
        mau = duck.execute(mau_sql).fetchall()
        gmv = duck.execute(gmv_sql).fetchall()
        timings.append((time.perf_counter() - started) * 1000 / 2)
    results["duckdb_from_raw_events"] = summary(timings, digits=1)
    results["answers_match_duckdb"] = [p["value"] for p in answers["mau"]] == [float(v) for _, v in mau] and [
        p["value"] for p in answers["gmv_fen"]
    ] == [float(v) for _, v in gmv]
    results["target_p95_ms"] = 100
    return results


async def measure_scoring(platform: Platform, tenant_id: str, members: int) -> dict[str, Any]:
    """1,000,000 members' facts COPYed in, then the tenant's full recompute timed in this process."""
    rng = np.random.default_rng(5)
    now = datetime.now(UTC)
    orders = rng.choice([0, 0, 0, 1, 1, 2, 3, 5, 8], size=members)
    first_join = rng.uniform(30, 720, size=members)
    silence = np.minimum(rng.exponential(20, size=members), first_join)
    first_order = np.where(orders > 0, rng.uniform(silence, first_join), np.nan)
    last_order = np.where(orders > 0, rng.uniform(silence, np.nan_to_num(first_order, nan=silence)), np.nan)
    spend = np.where(orders > 0, orders * rng.lognormal(9, 0.7, size=members), 0).astype(np.int64)

    def moment(days: float) -> datetime | None:
        return None if np.isnan(days) else now - timedelta(days=float(days))

    records = [
        (
            uuid.uuid4(),
            tenant_id,
            1,
            moment(first_join[i]),
            moment(silence[i]),
            moment(silence[i]),
            1.0,
            4.0,
            moment(silence[i]),
            int(orders[i]),
            int(orders[i]),  # each order on a day of its own
            moment(first_order[i]),
            moment(last_order[i]),
            int(spend[i]),
            int(spend[i] // max(orders[i], 1)) if orders[i] else None,
            False,
        )
        for i in range(members)
    ]
    columns = [
        "member_id",
        "tenant_id",
        "memberships",
        "first_joined_at",
        "first_active_at",
        "last_active_at",
        "engagement_fast",
        "engagement_slow",
        "engagement_at",
        "orders",
        "purchase_days",
        "first_order_at",
        "last_order_at",
        "spend_fen",
        "first_day_fen",
        "churn_flagged",
    ]
    connection = await analytics_db(platform)
    try:
        await connection.copy_records_to_table("member_facts", records=records, columns=columns)
        await connection.execute("ANALYZE member_facts")
    finally:
        await connection.close()
    engine = create_engine(platform.databases["analytics-svc"])
    outbox = Outbox(table=MESSAGING.outbox, source="analytics-svc", topic_prefix=platform.prefix)
    timings = []
    for day in (0, 1):  # the tenant's first fit, then the daily refit of members who have their segments
        started = time.perf_counter()
        async with AsyncSession(engine) as session, session.begin():
            scored = await segments.recompute(
                session=session, outbox=outbox, tenant_id=tenant_id, now=now + timedelta(days=day)
            )
        timings.append(time.perf_counter() - started)
    first_seconds, seconds = timings
    await engine.dispose()

    duck = duckdb.connect()
    duck.register("facts", pandas.DataFrame({"silence": np.floor(silence), "orders": orders, "spend": spend}))
    started = time.perf_counter()
    duck.execute(
        """
        CREATE TABLE scored AS
        WITH edges AS (
          SELECT quantile_cont(silence, [0.2, 0.4, 0.6, 0.8]) AS r,
                 (SELECT quantile_cont(orders, [0.2, 0.4, 0.6, 0.8]) FROM facts WHERE orders > 0) AS f,
                 (SELECT quantile_cont(spend, [0.2, 0.4, 0.6, 0.8]) FROM facts WHERE orders > 0) AS m
          FROM facts)
        SELECT 5 - ((silence > r[1])::INT + (silence > r[2])::INT + (silence > r[3])::INT + (silence > r[4])::INT) AS recency,
               CASE WHEN orders = 0 THEN 1 ELSE 1 + (orders > f[1])::INT + (orders > f[2])::INT + (orders > f[3])::INT + (orders > f[4])::INT END AS frequency,
               CASE WHEN orders = 0 THEN 1 ELSE 1 + (spend > m[1])::INT + (spend > m[2])::INT + (spend > m[3])::INT + (spend > m[4])::INT END AS monetary,
               0.75 * (1 - exp(-silence / 30)) AS churn
        FROM facts, edges
        """
    )
    reference = time.perf_counter() - started
    return {
        "members": scored,
        "seconds": round(seconds, 2),
        "first_fit_seconds": round(first_seconds, 2),
        "target_seconds": 30,
        "duckdb_seconds": round(reference, 2),
        "ratio_to_duckdb": round(seconds / reference, 1),
        "includes": "loading the facts, quintiles, BG/NBD and Gamma-Gamma fits, every member's RFM scores, churn score and flag and segment, writing and announcing the segments and flags that changed (scores and lifetime values are computed when asked)",
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    async with platform_with_tenant(["analytics-svc", "gateway"]) as (platform, tenant, _api):
        ingestion = await measure_ingestion(platform, tenant, args.members)
        latency = await measure_segment_latency(platform, tenant, args.rate, args.seconds)
        async with tenant_api(platform) as (queries_tenant, queries_api):
            queries = await measure_kpi_queries(platform, queries_tenant, queries_api, args.events)
        scoring = await measure_scoring(platform, f"bench-scoring-{uuid.uuid4().hex[:8]}", args.scored_members)
    return {
        "machine": await machine.describe(),
        "ingestion": ingestion,
        "segment_latency": latency,
        "kpi_queries": queries,
        "scoring": scoring,
    }


def table(results: dict[str, Any]) -> str:
    ingestion, latency, queries, scoring = (
        results[k] for k in ("ingestion", "segment_latency", "kpi_queries", "scoring")
    )
    rows = [
        (
            f"Ingestion of {ingestion['events']:,} events of {ingestion['members']:,} members' community life",
            f"{ingestion['events_per_second']:,} events/s",
            f"target ≥ 5,000/s; raw aiokafka consuming the same records {ingestion['raw_consume_per_second']:,}/s "
            f"(ingestion = {ingestion['ratio_to_raw_consume']:.1%} of it)",
        ),
        (
            f"Paid order on the bus → the member rescored, {latency['offered_per_second']} orders/s",
            f"p50 {latency['p50_ms']} ms · p95 {latency['p95_ms']} ms · p99 {latency['p99_ms']} ms",
            f"target p95 < 1 s; {latency['measured']} of {latency['orders']} measured",
        ),
        (
            f"KPI queries over the projections of {queries['events']:,} events, via the gateway",
            f"p50 {queries['gateway']['p50_ms']} ms · p95 {queries['gateway']['p95_ms']} ms · p99 {queries['gateway']['p99_ms']} ms",
            f"target p95 < 100 ms; direct p95 {queries['direct']['p95_ms']} ms; DuckDB from the raw events p50 "
            f"{queries['duckdb_from_raw_events']['p50_ms']} ms; answers match DuckDB: {queries['answers_match_duckdb']}",
        ),
        (
            f"RFM and churn scores, segments and churn flags of {scoring['members']:,} members (the periodic refit)",
            f"{scoring['seconds']} s",
            f"target < 30 s; the tenant's first fit (every member's segment announced) {scoring['first_fit_seconds']} s; "
            f"DuckDB quintiles and churn score on the same rows {scoring['duckdb_seconds']} s",
        ),
    ]
    return markdown(rows)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=4_000, help="members of the ingested community life")
    parser.add_argument("--rate", type=int, default=20, help="paid orders/s of the segment latency run")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--events", type=int, default=500_000, help="events behind the KPI projections")
    parser.add_argument("--scored-members", type=int, default=1_000_000)
    parser.add_argument("--output", default=str(RESULTS))
    return parser.parse_args()


if __name__ == "__main__":
    run_suite(main, arguments(), table)
