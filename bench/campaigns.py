"""`python -m bench.campaigns`: campaign-svc's targets on the real processes, each beside a same-run reference.

- A flash sale of 100 units hit by 5,000 concurrent attempts from 2,000 members, through the gateway and
  straight to campaign-svc: attempts per second, and exactly 100 orders with at most one per member —
  vs the same 5,000 attempts as bare conditional UPDATEs of a stock row over asyncpg.
- From a `member.joined` on the bus to the welcome pack's `coupon.issued` on the bus: p50/p95/p99 —
  vs the same joins' own hop from producer to consumer (raw aiokafka).
"""

import argparse
import asyncio
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from bench import cpu, machine
from bench.bus_path import plain_dsn
from bench.latency import summary
from bench.report import markdown, run_suite
from bench.world import platform_with_tenant
from qunyun_shared.events import new_event
from qunyun_shared.events.base import spec_for
from qunyun_shared.events.kafka_binding import from_kafka, to_kafka
from qunyun_shared.events.member import MemberConsentChangedV1, MemberJoinedV1
from qunyun_shared.testing import eventually
from qunyun_shared.topics import topic_for
from tests.support.harness import KAFKA_BOOTSTRAP, ROOT, Platform, TenantKey

RESULTS = ROOT / "bench/results/campaign_svc.json"
STOCK = 100


def joined(member_id: uuid.UUID) -> MemberJoinedV1:
    return MemberJoinedV1(member_id=member_id, community_id=uuid.uuid4(), channel="qr", joined_at=datetime.now(UTC))


async def campaign_members(platform: Platform, tenant_id: str, condition: str = "true") -> int:
    connection = await asyncpg.connect(plain_dsn(platform.databases["campaign-svc"]))
    try:
        count: int = await connection.fetchval(
            f"SELECT count(*) FROM members WHERE tenant_id = $1 AND {condition}", tenant_id
        )
        return count
    finally:
        await connection.close()


async def seed_members(platform: Platform, tenant: TenantKey, count: int) -> list[uuid.UUID]:
    """`count` members joined on the bus, as member-svc announces them, and known to campaign-svc."""
    members = [uuid.uuid4() for _ in range(count)]
    await platform.publish("member-svc", tenant.tenant_id, *(joined(m) for m in members))

    async def all_known() -> None:
        assert await campaign_members(platform, tenant.tenant_id) >= count

    await eventually(all_known, timeout=120)
    return members


async def flash_sale(api: httpx.AsyncClient, name: str) -> str:
    settings = {"product_id": "sku-秒杀-1", "price_fen": 990, "stock": STOCK, "per_member_limit": 1}
    created = await api.post("/campaigns", json={"kind": "flash_sale", "name": name, "settings": settings})
    created.raise_for_status()
    return str(created.json()["id"])


async def attempt_all(url: str, headers: dict[str, str], members: list[uuid.UUID], concurrency: int) -> dict[str, Any]:
    """The attempts over `concurrency` connections, each sending its next attempt the moment the last is
    answered, so `concurrency` are in flight all along; each attempt has its own Idempotency-Key. (Not one
    task per attempt: starting 5,000 requests at once cost the client a second before the first was sent.)
    Returns the throughput and what each attempt was answered."""
    statuses: list[int] = []
    crowd = iter(members)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as http:

        async def connection() -> None:
            for member_id in crowd:
                key = {"Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"}
                body = orjson.dumps({"member_id": member_id})
                async with http.post(url, data=body, headers=key) as response:
                    await response.read()
                    statuses.append(response.status)

        started = time.perf_counter()
        await asyncio.gather(*(connection() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return {
        "attempts": len(members),
        "seconds": round(seconds, 2),
        "attempts_per_second": round(len(members) / seconds),
        "sold": statuses.count(201),
        "sold_out": statuses.count(409),
        "other_statuses": sorted({s for s in statuses if s not in (201, 409)}),
    }


def service_pid(platform: Platform, name: str) -> int:
    process = platform.services[name].process
    assert process is not None, f"{name} is not running"
    return process.pid


def cpu_now(processes: dict[str, list[int]]) -> dict[str, float]:
    """CPU seconds so far of the services, PostgreSQL and this process (the load generator)."""
    spent = {who: cpu.seconds(pids) for who, pids in processes.items()}
    return spent | {"postgres": cpu.seconds(cpu.postgres()), "client": time.process_time()}


async def orders_of_sale(platform: Platform, campaign_id: str) -> dict[str, int]:
    connection = await asyncpg.connect(plain_dsn(platform.databases["campaign-svc"]))
    try:
        sale = uuid.UUID(campaign_id)
        orders = await connection.fetchval("SELECT count(*) FROM orders WHERE campaign_id = $1", sale)
        most = await connection.fetchval(
            "SELECT coalesce(max(n), 0) FROM (SELECT count(*) AS n FROM orders WHERE campaign_id = $1"
            " GROUP BY member_id) per_member",
            sale,
        )
        sold = await connection.fetchval("SELECT sum(sold)::bigint FROM campaign_stock WHERE campaign_id = $1", sale)
        return {"orders": orders, "most_orders_of_one_member": most, "stock_sold": sold}
    finally:
        await connection.close()


async def sql_reference(platform: Platform, attempts: int, concurrency: int) -> dict[str, Any]:
    """The database's floor for the same decision: each attempt one transaction of a conditional UPDATE of
    one stock row and, if it sold, an order row."""
    pool = await asyncpg.create_pool(plain_dsn(platform.databases["campaign-svc"]), min_size=20, max_size=20)
    try:
        await pool.execute("CREATE TABLE stock_reference (id int PRIMARY KEY, total int, sold int)")
        await pool.execute("CREATE TABLE orders_reference (id uuid PRIMARY KEY, member_id uuid)")
        await pool.execute("INSERT INTO stock_reference VALUES (1, $1, 0)", STOCK)
        gate = asyncio.Semaphore(concurrency)

        async def attempt() -> None:
            async with gate, pool.acquire() as connection, connection.transaction():
                sold = await connection.fetchval(
                    "UPDATE stock_reference SET sold = sold + 1 WHERE id = 1 AND sold < total RETURNING sold"
                )
                if sold is not None:
                    await connection.execute("INSERT INTO orders_reference VALUES ($1, $2)", uuid.uuid4(), uuid.uuid4())

        started = time.perf_counter()
        await asyncio.gather(*(attempt() for _ in range(attempts)))
        seconds = time.perf_counter() - started
        orders = await pool.fetchval("SELECT count(*) FROM orders_reference")
        await pool.execute("DROP TABLE stock_reference, orders_reference")
        return {"seconds": round(seconds, 3), "attempts_per_second": round(attempts / seconds), "orders": orders}
    finally:
        await pool.close()


async def measure_flash_sales(
    platform: Platform, tenant: TenantKey, api: httpx.AsyncClient, members: list[uuid.UUID], args: argparse.Namespace
) -> dict[str, Any]:
    crowd = [members[i % len(members)] for i in range(args.attempts)]
    random.shuffle(crowd)
    gateway_headers = {"Authorization": f"Bearer {tenant.api_key}"}
    direct_headers = platform.identity_header(tenant.tenant_id)
    results: dict[str, Any] = {"stock": STOCK, "members": len(members), "concurrency": args.concurrency}
    processes = {who.replace("-", "_"): cpu.tree(service_pid(platform, who)) for who in ("campaign-svc", "gateway")}
    for name, base, headers in (
        ("gateway", f"{platform.url('gateway')}/api/v1", gateway_headers),
        ("direct", platform.url("campaign-svc"), direct_headers),
    ):
        sale = await flash_sale(api, f"秒杀-{name}")
        before = cpu_now(processes)
        attempts = await attempt_all(f"{base}/campaigns/{sale}/flash-sale/orders", headers, crowd, args.concurrency)
        spent = {who: cpu_now(processes)[who] - seconds for who, seconds in before.items()}
        cpu_ms = {f"{who}_ms": round(seconds * 1000 / len(crowd), 2) for who, seconds in spent.items()}
        results[name] = attempts | await orders_of_sale(platform, sale) | {"cpu_per_attempt": cpu_ms}
    results["sql_reference"] = await sql_reference(platform, args.attempts, args.concurrency)
    results["target_attempts_per_second"] = 1000
    results["gateway_ratio_to_sql"] = round(
        results["gateway"]["attempts_per_second"] / results["sql_reference"]["attempts_per_second"], 3
    )
    return results


async def welcome_pack(api: httpx.AsyncClient) -> None:
    """A running welcome-pack campaign, its coupon, and the playbook rule on first joins; no quiet hours,
    so every join is acted on at once whatever the time of the run."""
    quiet_free = {"timezone": "Asia/Shanghai", "quiet_hours_start": None, "quiet_hours_end": None}
    (await api.put("/campaigns/settings", json=quiet_free)).raise_for_status()
    campaign = await api.post("/campaigns", json={"kind": "welcome_pack", "name": "新人礼", "budget_fen": 10**9})
    campaign.raise_for_status()
    template = await api.post(
        "/campaigns/coupon-templates",
        json={
            "campaign_id": campaign.json()["id"],
            "name": "新人满49减10",
            "discount": "amount_off",
            "amount_off_fen": 1000,
            "min_spend_fen": 4900,
            "valid_days": 7,
        },
    )
    template.raise_for_status()
    rule = await api.post(
        "/campaigns/automations/playbooks/welcome_pack", json={"coupon_template_id": template.json()["id"]}
    )
    rule.raise_for_status()


async def measure_automation(
    platform: Platform, tenant: TenantKey, api: httpx.AsyncClient, args: argparse.Namespace
) -> dict[str, Any]:
    """Joins offered open-loop at `rate` per second; each one's latency runs from just before its send to the
    moment its member's `coupon.issued` is read off the campaign topic (and, for the reference, its own
    record off the member topic)."""
    await welcome_pack(api)
    newcomers = [uuid.uuid4() for _ in range(round(args.rate * args.seconds))]
    consents = [
        MemberConsentChangedV1(member_id=m, purpose="marketing", granted=True, source="bench") for m in newcomers
    ]
    await platform.publish("member-svc", tenant.tenant_id, *consents)

    async def consented() -> None:
        assert await campaign_members(platform, tenant.tenant_id, "marketing_consent") >= len(newcomers)

    await eventually(consented, timeout=120)

    member_topic = topic_for(platform.prefix, spec_for(MemberJoinedV1))
    campaign_topic = f"{platform.prefix}.campaign"
    consumer = AIOKafkaConsumer(bootstrap_servers=KAFKA_BOOTSTRAP, group_id=None, enable_auto_commit=False)
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA_BOOTSTRAP, linger_ms=0)
    await consumer.start()
    await producer.start()
    sent: dict[uuid.UUID, float] = {}
    hop_ms: list[float] = []
    action_ms: list[float] = []
    try:
        partitions = [
            TopicPartition(topic, partition)
            for topic in (member_topic, campaign_topic)
            for partition in await producer.partitions_for(topic)
        ]
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for partition in partitions:
            await consumer.position(partition)  # the ends resolved now, before anything is sent

        async def read() -> None:
            while len(action_ms) < len(newcomers):
                for records in (await consumer.getmany(timeout_ms=100)).values():
                    arrived = time.perf_counter()
                    for record in records:
                        envelope = from_kafka(record.value, record.headers)
                        member_id = getattr(envelope.data, "member_id", None)
                        if member_id not in sent:
                            continue
                        if envelope.type == "member.joined":
                            hop_ms.append((arrived - sent[member_id]) * 1000)
                        elif envelope.type == "coupon.issued":
                            action_ms.append((arrived - sent[member_id]) * 1000)

        reader = asyncio.create_task(read())
        started = time.perf_counter()
        sends = []
        for index, member_id in enumerate(newcomers):
            delay = started + index / args.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            record = to_kafka(new_event(source="member-svc", tenant_id=tenant.tenant_id, payload=joined(member_id)))
            sent[member_id] = time.perf_counter()
            sends.append(
                asyncio.create_task(
                    producer.send_and_wait(member_topic, record.value, key=record.key, headers=record.headers)
                )
            )
        await asyncio.gather(*sends)
        await asyncio.wait_for(reader, timeout=60)
    finally:
        await producer.stop()
        await consumer.stop()
    return {
        "joins": len(newcomers),
        "offered_per_second": args.rate,
        "seconds": args.seconds,
        "actions": len(action_ms),
        "join_to_coupon_issued": summary(action_ms, digits=1),
        "raw_kafka_hop": summary(hop_ms, digits=1),
        "target_p95_ms": 1000,
        "timing": (
            "from just before the join is produced to member-svc's topic, to its coupon.issued read off "
            "campaign-svc's topic (consumer, inbox, rule, coupon, outbox, relay, broker); the reference is the "
            "same join read back off the member topic"
        ),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    async with platform_with_tenant(["campaign-svc", "gateway"]) as (platform, tenant, api):
        members = await seed_members(platform, tenant, args.members)
        sales = await measure_flash_sales(platform, tenant, api, members, args)
        automation = await measure_automation(platform, tenant, api, args)
    return {"machine": await machine.describe(), "flash_sale": sales, "automation": automation}


def table(results: dict[str, Any]) -> str:
    sales, automation = results["flash_sale"], results["automation"]
    reference = sales["sql_reference"]
    rows = []
    for name, path in (("gateway", "via the gateway"), ("direct", "straight to campaign-svc")):
        run = sales[name]
        spent = ", ".join(f"{who.removesuffix('_ms')} {ms}" for who, ms in run["cpu_per_attempt"].items())
        rows.append(
            (
                f"Flash sale of {sales['stock']} units, {run['attempts']:,} attempts from {sales['members']:,} "
                f"members, {sales['concurrency']} in flight at every moment, {path}",
                f"{run['attempts_per_second']:,} attempts/s ({run['seconds']} s)",
                f"target ≥ 1,000/s; {run['orders']} orders, {run['stock_sold']} units sold, at most "
                f"{run['most_orders_of_one_member']} per member, {run['sold_out']:,} refused sold out; "
                f"bare conditional UPDATEs {reference['attempts_per_second']:,}/s; CPU ms per attempt: {spent}",
            )
        )
    action, hop = automation["join_to_coupon_issued"], automation["raw_kafka_hop"]
    rows.append(
        (
            f"`member.joined` on the bus → welcome pack's `coupon.issued` on the bus, "
            f"{automation['offered_per_second']} joins/s for {automation['seconds']:g} s",
            f"p50 {action['p50_ms']} ms · p95 {action['p95_ms']} ms · p99 {action['p99_ms']} ms",
            f"target p95 < 1 s; {automation['actions']} of {automation['joins']} acted on; "
            f"the join's own Kafka hop p95 {hop['p95_ms']} ms",
        )
    )
    return markdown(rows)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=2_000)
    parser.add_argument("--attempts", type=int, default=5_000)
    parser.add_argument("--concurrency", type=int, default=64, help="connections the client holds open")
    parser.add_argument("--rate", type=int, default=50, help="offered joins/s of the automation run")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the automation run")
    parser.add_argument("--output", default=str(RESULTS))
    return parser.parse_args()


if __name__ == "__main__":
    run_suite(main, arguments(), table)
