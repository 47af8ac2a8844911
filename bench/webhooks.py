"""`python -m bench.webhooks`: partner webhook dispatch by the real gateway process, beside a bare aiohttp POST
loop to the same receiver in the same run.

- Dispatch: a backlog of N messages owed to one endpoint (as after a partner's outage) is committed at once;
  the gateway claims, signs, POSTs and records them: deliveries/s from the commit to the last arrival, and
  CPU per delivery — vs the same N bodies POSTed by a bare aiohttp loop with the same concurrency (the
  endpoint's in-flight cap) to the same receiver. Every delivery is verified with `standardwebhooks`.
- From the bus: N events produced to Kafka, consumed, fanned out and delivered: events/s to the last arrival.
- Restart: the gateway SIGKILLed a third of the way through a backlog and started again: every message
  arrives (none lost), and how many arrived twice (at least once, under the same webhook id).

The receiver runs as a process of its own (tests/support/webhook_receiver.py), so that the gateway and
the bare loop each have the same peer to talk to.
"""

import argparse
import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiohttp
import httpx
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncSession

from bench import cpu, machine
from bench.report import markdown, run_suite
from bench.world import platform_with_tenant
from gateway_svc.webhooks import fanout
from qunyun_shared.db import create_engine
from qunyun_shared.events import Envelope, new_event
from qunyun_shared.events.base import spec_for
from qunyun_shared.events.kafka_binding import to_kafka
from qunyun_shared.events.member import MemberTaggedV1
from qunyun_shared.testing import eventually, free_port
from qunyun_shared.topics import topic_for
from tests.support.harness import KAFKA_BOOTSTRAP, ROOT, Platform, TenantKey
from tests.support.webhook_receiver import PATH, verified_event_ids

RESULTS = ROOT / "bench/results/webhooks.json"
ENDPOINT_RATE_LIMIT = 10_000  # the most an endpoint may ask for: the partner's limit is not what is measured
INSERT_CHUNK = 2_000


def start_receiver(port: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "tests.support.webhook_receiver", "--port", str(port)], cwd=ROOT)


@asynccontextmanager
async def receiver_process() -> AsyncIterator[tuple[str, int]]:
    """A fresh receiver process: its base URL and pid."""
    port = free_port()
    process = start_receiver(port)
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as client:

            async def up() -> None:
                try:
                    assert (await client.get(f"{base}/stats")).status_code == 200
                except httpx.TransportError as exc:
                    raise AssertionError("receiver not up yet") from exc

            await eventually(up, timeout=30)
        yield base, process.pid
    finally:
        process.terminate()
        process.wait(timeout=10)


async def wait_for(base: str, webhook_ids: int, timeout: float) -> dict[str, Any]:
    """The receiver's counts once `webhook_ids` distinct messages arrived; polled on one connection, so
    that watching costs the machine next to nothing."""
    async with httpx.AsyncClient() as client:

        async def arrived() -> dict[str, Any]:
            seen: dict[str, Any] = (await client.get(f"{base}/stats")).json()
            assert seen["webhook_ids"] >= webhook_ids, seen
            return seen

        return await eventually(arrived, timeout=timeout, interval=0.05)


async def verify_all(base: str, secret: str) -> int:
    """Verifies every delivery the receiver got with `standardwebhooks`; returns how many events they carried."""
    async with httpx.AsyncClient(timeout=120) as client:
        received = (await client.get(f"{base}/received")).json()
    deliveries = [({k: v for k, v in item["headers"].items()}, item["body"].encode()) for item in received]
    return len(verified_event_ids(deliveries, secret))


@asynccontextmanager
async def subscribed(api: httpx.AsyncClient, base: str) -> AsyncIterator[dict[str, Any]]:
    """The tenant's one endpoint, to the receiver at `base`, removed afterwards so the next run has its own."""
    created = await api.post(
        "/webhooks/endpoints",
        json={"url": f"{base}{PATH}", "event_types": ["member.tagged"], "rate_limit_per_second": ENDPOINT_RATE_LIMIT},
    )
    created.raise_for_status()
    try:
        yield dict(created.json())
    finally:
        (await api.delete(f"/webhooks/endpoints/{created.json()['id']}")).raise_for_status()


def tag_events(tenant: TenantKey, count: int) -> list[Envelope]:
    return [
        new_event(
            source="member-svc",
            tenant_id=tenant.tenant_id,
            payload=MemberTaggedV1(member_id=uuid.uuid4(), tag=f"复购-{index}", kind="rule", action="added"),
        )
        for index in range(count)
    ]


async def owe_backlog(platform: Platform, tenant: TenantKey, count: int) -> float:
    """Fans `count` events out in one transaction, as a partner's backlog; returns when it committed."""
    engine = create_engine(platform.databases["gateway"])
    events = tag_events(tenant, count)
    try:
        async with AsyncSession(engine) as session, session.begin():
            for start in range(0, count, INSERT_CHUNK):
                await fanout.fan_out(
                    session=session, events=events[start : start + INSERT_CHUNK], now=datetime.now(UTC)
                )
        return time.time()
    finally:
        await engine.dispose()


def gateway_pid(platform: Platform) -> int:
    process = platform.services["gateway"].process
    assert process is not None, "the gateway is not running"
    return process.pid


def cpu_of(pids: dict[str, list[int]]) -> dict[str, float]:
    return {who: cpu.seconds(tree) for who, tree in pids.items()} | {
        "postgres": cpu.seconds(cpu.postgres()),
        "client": time.process_time(),
    }


async def measure_dispatch(
    platform: Platform, tenant: TenantKey, api: httpx.AsyncClient, args: argparse.Namespace
) -> dict[str, Any]:
    async with receiver_process() as (base, receiver_pid), subscribed(api, base) as endpoint:
        pids = {"gateway": cpu.tree(gateway_pid(platform)), "receiver": [receiver_pid]}
        committed = await owe_backlog(platform, tenant, args.deliveries)
        before = cpu_of(pids)  # the dispatcher's share only: the backlog was written by this process
        seen = await wait_for(base, args.deliveries, timeout=600)
        spent = {who: cpu_of(pids)[who] - seconds for who, seconds in before.items()}
        seconds = seen["last_at"] - committed
        verified = await verify_all(base, endpoint["secret"])
    return {
        "deliveries": args.deliveries,
        "seconds": round(seconds, 2),
        "deliveries_per_second": round(args.deliveries / seconds),
        "first_to_last_arrival_per_second": round(args.deliveries / (seen["last_at"] - seen["first_at"])),
        "received": seen["received"],
        "verified_by_standardwebhooks": verified,
        "cpu_ms_per_delivery": {
            who: round(s * 1000 / args.deliveries, 3) for who, s in spent.items() if who != "client"
        },
    }


async def measure_bare_loop(args: argparse.Namespace, concurrency: int) -> dict[str, Any]:
    """The same bodies POSTed to the same kind of receiver by a plain aiohttp loop: nothing claimed, signed or
    recorded; `concurrency` requests in flight at once."""
    async with receiver_process() as (base, receiver_pid):
        bodies = [fanout.body_of(event) for event in tag_events(TenantKey(str(uuid.uuid4()), ""), args.deliveries)]
        connector = aiohttp.TCPConnector(limit=concurrency)
        statuses: list[int] = []
        before = cpu_of({"receiver": [receiver_pid]})
        async with aiohttp.ClientSession(connector=connector) as http:
            gate = asyncio.Semaphore(concurrency)

            async def post(index: int, body: bytes) -> None:
                headers = {"Content-Type": "application/json", "webhook-id": f"msg_bare{index}"}
                async with gate, http.post(f"{base}{PATH}", data=body, headers=headers) as response:
                    await response.read()
                    statuses.append(response.status)

            started = time.perf_counter()
            await asyncio.gather(*(post(index, body) for index, body in enumerate(bodies)))
            seconds = time.perf_counter() - started
        spent = {who: cpu_of({"receiver": [receiver_pid]})[who] - s for who, s in before.items()}
    return {
        "deliveries": args.deliveries,
        "concurrency": concurrency,
        "seconds": round(seconds, 2),
        "deliveries_per_second": round(args.deliveries / seconds),
        "non_2xx": sum(not 200 <= status < 300 for status in statuses),
        "cpu_ms_per_delivery": {
            who: round(s * 1000 / args.deliveries, 3) for who, s in spent.items() if who in ("client", "receiver")
        },
    }


async def measure_from_the_bus(
    platform: Platform, tenant: TenantKey, api: httpx.AsyncClient, args: argparse.Namespace
) -> dict[str, Any]:
    async with receiver_process() as (base, _), subscribed(api, base) as endpoint:
        events = tag_events(tenant, args.events)
        topic = topic_for(platform.prefix, spec_for(MemberTaggedV1))
        producer = AIOKafkaProducer(bootstrap_servers=KAFKA_BOOTSTRAP, linger_ms=5, max_batch_size=256 * 1024)
        await producer.start()
        try:
            started = time.time()
            records = [to_kafka(event) for event in events]
            sent = [await producer.send(topic, r.value, key=r.key, headers=r.headers) for r in records]
            await asyncio.gather(*sent)
            produced = time.time()
        finally:
            await producer.stop()
        seen = await wait_for(base, args.events, timeout=600)
        verified = await verify_all(base, endpoint["secret"])
    seconds = seen["last_at"] - started
    return {
        "events": args.events,
        "produce_seconds": round(produced - started, 2),
        "seconds": round(seconds, 2),
        "events_per_second": round(args.events / seconds),
        "verified_by_standardwebhooks": verified,
        "timing": "from the first event produced to Kafka to the last delivery received by the partner",
    }


async def measure_restart(
    platform: Platform, tenant: TenantKey, api: httpx.AsyncClient, args: argparse.Namespace
) -> dict[str, Any]:
    gateway = platform.services["gateway"]
    async with receiver_process() as (base, _), subscribed(api, base) as endpoint:
        committed = await owe_backlog(platform, tenant, args.restart_deliveries)
        at_kill = await wait_for(base, args.restart_deliveries // 3, timeout=600)
        gateway.kill()
        killed = time.time()
        gateway.start()
        await gateway.wait_ready()
        ready = time.time()
        seen = await wait_for(base, args.restart_deliveries, timeout=600)
        verified = await verify_all(base, endpoint["secret"])
    return {
        "deliveries": args.restart_deliveries,
        "arrived_before_the_kill": at_kill["webhook_ids"],
        "restart_seconds": round(ready - killed, 2),
        "seconds_to_the_last_arrival": round(seen["last_at"] - committed, 2),
        "lost": args.restart_deliveries - seen["webhook_ids"],
        "arrived_twice": seen["received"] - seen["webhook_ids"],
        "verified_by_standardwebhooks": verified,
        "note": "what was on the wire at the kill goes out again once its lease (3 x timeout + 5 s) runs out",
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    async with platform_with_tenant(["gateway"]) as (platform, tenant, api):
        # A small warm-up: connections, caches and the code paths, none of it measured.
        async with receiver_process() as (base, _), subscribed(api, base):
            await owe_backlog(platform, tenant, 500)
            await wait_for(base, 500, timeout=120)
        dispatch = await measure_dispatch(platform, tenant, api, args)
        bare = await measure_bare_loop(args, args.concurrency)
        bus = await measure_from_the_bus(platform, tenant, api, args)
        restart = await measure_restart(platform, tenant, api, args)
    return {
        "machine": await machine.describe(),
        "dispatch": dispatch,
        "bare_aiohttp_loop": bare,
        "dispatch_vs_bare": round(dispatch["deliveries_per_second"] / bare["deliveries_per_second"], 3),
        "targets": {"deliveries_per_second": 1000, "ratio_to_bare": 0.40},
        "from_the_bus": bus,
        "restart": restart,
    }


def table(results: dict[str, Any]) -> str:
    dispatch, bare, bus, restart = (results[k] for k in ("dispatch", "bare_aiohttp_loop", "from_the_bus", "restart"))
    cpu_ms = ", ".join(f"{who} {ms}" for who, ms in dispatch["cpu_ms_per_delivery"].items())
    rows = [
        (
            f"Webhook dispatch: a backlog of {dispatch['deliveries']:,} messages to one endpoint, claimed, signed, "
            "POSTed and recorded by the gateway",
            f"{dispatch['deliveries_per_second']:,} deliveries/s ({dispatch['seconds']} s)",
            f"target ≥ 1,000/s and ≥ 40% of the bare loop: {results['dispatch_vs_bare']:.0%}; "
            f"{dispatch['verified_by_standardwebhooks']:,} verified by standardwebhooks; CPU ms per delivery: {cpu_ms}",
        ),
        (
            f"Bare aiohttp POST loop, the same {bare['deliveries']:,} bodies to the same receiver, "
            f"{bare['concurrency']} in flight",
            f"{bare['deliveries_per_second']:,} POSTs/s ({bare['seconds']} s)",
            "nothing claimed, signed or recorded: the ceiling of the client and receiver on this machine",
        ),
        (
            f"From the bus: {bus['events']:,} events produced to Kafka, consumed, fanned out and delivered",
            f"{bus['events_per_second']:,} events/s ({bus['seconds']} s)",
            f"{bus['verified_by_standardwebhooks']:,} verified; to the last arrival",
        ),
        (
            f"Gateway SIGKILLed after {restart['arrived_before_the_kill']:,} of {restart['deliveries']:,} "
            "deliveries, then restarted",
            f"{restart['lost']} lost",
            f"{restart['arrived_twice']} arrived twice (same webhook id); last arrival "
            f"{restart['seconds_to_the_last_arrival']} s after the backlog was committed",
        ),
    ]
    return markdown(rows)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--restart-deliveries", type=int, default=10_000)
    parser.add_argument(
        "--concurrency", type=int, default=32, help="the bare loop's requests in flight: the endpoint's in-flight cap"
    )
    parser.add_argument("--output", default=str(RESULTS))
    return parser.parse_args()


if __name__ == "__main__":
    run_suite(main, arguments(), table)
