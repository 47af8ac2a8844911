"""Bus path: outbox rows in PostgreSQL -> OutboxRelay -> Kafka -> analytics-svc's EventConsumer + inbox ->
analytics rows, with analytics-svc running as deployed (`python -m analytics_svc serve`: its consumer, its
own relay publishing the segment changes it announces, its sweeps)."""

import asyncio
import base64
import contextlib
import gc
import os
import secrets
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.ext.asyncio import AsyncSession

from bench import cpu
from bench.sample import member_joined
from member_svc.db import MESSAGING as MEMBER_TABLES
from qunyun_shared.db import create_engine
from qunyun_shared.outbox import Outbox, OutboxRelay
from qunyun_shared.topics import create_topics
from tests.support.harness import KAFKA_BOOTSTRAP, SERVICES, ServiceProcess, create_database, drop_database

WARMUP_EVENTS = 200
EVENTS_PER_TRANSACTION = 500
COMMUNITIES = 1000
TIME_LIMIT_SECONDS = 120.0


def plain_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


def service(name: str, url: str, prefix: str, log_path: Path) -> ServiceProcess:
    """A service as its pod is given it: its own database, the broker, the run's topics and its secrets."""
    env = {
        "DATABASE_URL": url,
        "KAFKA_BOOTSTRAP_SERVERS": KAFKA_BOOTSTRAP,
        "KAFKA_TOPIC_PREFIX": prefix,
        "INTERNAL_TOKEN_SECRET": secrets.token_urlsafe(32),
        "PLATFORM_ADMIN_TOKEN": secrets.token_urlsafe(32),
        "PERSONAL_DATA_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    return ServiceProcess(name=name, spec=SERVICES[name], env=env, log_path=log_path)


async def measure(*, count: int) -> dict[str, object]:
    """Events/s from the relay's first publish to the last analytics row visible, outbox pre-filled."""
    prefix = f"qbbus{secrets.token_hex(4)}"
    names = {"producer": f"{prefix}_member_svc", "consumer": f"{prefix}_analytics_svc"}
    urls = {role: await create_database(name) for role, name in names.items()}
    log_path = Path(tempfile.mkdtemp(prefix="bench-bus-")) / "analytics-svc.log"
    member = service("member-svc", urls["producer"], prefix, log_path)
    analytics = service("analytics-svc", urls["consumer"], prefix, log_path)
    try:
        await create_topics(KAFKA_BOOTSTRAP, prefix)
        await asyncio.to_thread(member.migrate)
        await asyncio.to_thread(analytics.migrate)
        analytics.start()
        await analytics.wait_ready()
        assert analytics.process is not None
        return await _run(prefix, urls, count, analytics.process.pid)
    finally:
        analytics.stop()
        for name in names.values():
            await drop_database(name)


async def _run(prefix: str, urls: dict[str, str], count: int, analytics_pid: int) -> dict[str, object]:
    engine = create_engine(urls["producer"])
    outbox = Outbox(table=MEMBER_TABLES.outbox, source="member-svc", topic_prefix=prefix)
    analytics = await asyncpg.connect(plain_dsn(urls["consumer"]))
    producer_db = await asyncpg.connect(plain_dsn(urls["producer"]))
    tenant_id = str(uuid.uuid4())
    communities = [uuid.uuid4() for _ in range(COMMUNITIES)]
    try:
        # Warm-up: the consumer has joined its group and every connection is open before the clock starts.
        await _fill(engine, outbox, tenant_id, communities, WARMUP_EVENTS)
        async with _relay(engine, outbox):
            await _wait_counted(analytics, WARMUP_EVENTS, timeout=90)
        filled_at = time.perf_counter()
        await _fill(engine, outbox, tenant_id, communities, count)
        fill_seconds = time.perf_counter() - filled_at
        # The relay runs here, in the benchmark's process: settled as in a service's, which freezes what
        # it built at startup (qunyun_shared.app) so full collections stop rescanning it.
        gc.collect()
        gc.freeze()
        processes = {
            "relay": [os.getpid()],
            "analytics_svc": cpu.tree(analytics_pid),
            "postgres": cpu.postgres(),
            "kafka": cpu.kafka(),
        }
        before = {who: cpu.seconds(pids) for who, pids in processes.items()}
        started = time.perf_counter()
        async with _relay(engine, outbox) as relay:
            published_at = await _wait_drained(producer_db, started, relay)
            await _wait_counted(analytics, WARMUP_EVENTS + count, timeout=TIME_LIMIT_SECONDS)
        seconds = time.perf_counter() - started
        spent = {who: cpu.seconds(pids) - before[who] for who, pids in processes.items()}
    finally:
        await analytics.close()
        await producer_db.close()
        await engine.dispose()
    return {
        "topic_prefix": prefix,
        "events": count,
        "outbox": f"pre-filled before timing, {EVENTS_PER_TRANSACTION} events per transaction (Outbox.add)",
        "consumer": "analytics-svc as deployed (python -m analytics_svc serve, one process): its consumer and ingestion, "
        "its own relay publishing the segment changes it announces, its sweeps",
        "communities": COMMUNITIES,
        "fill_per_second": round(count / fill_seconds),
        "relay_drained_per_second": round(count / (published_at - started)),
        "end_to_end_per_second": round(count / seconds),
        "end_to_end_seconds": round(seconds, 3),
        "cpu_us_per_event": {who: round(busy / count * 1e6) for who, busy in spent.items()}
        | {"total": round(sum(spent.values()) / count * 1e6)},
        "cpu_timing": "CPU of each process over the timed window, per event; the relay is the benchmark's own "
        "process (it also polls the two databases); postgres counts every server process",
    }


async def _fill(engine: object, outbox: Outbox, tenant_id: str, communities: list[uuid.UUID], count: int) -> None:
    for start in range(0, count, EVENTS_PER_TRANSACTION):
        size = min(EVENTS_PER_TRANSACTION, count - start)
        payloads = [
            member_joined(tenant_id=tenant_id, community_id=communities[(start + i) % len(communities)])
            for i in range(size)
        ]
        async with AsyncSession(engine) as session, session.begin():  # type: ignore[arg-type]
            await outbox.add(session, tenant_id=tenant_id, payloads=payloads)


@contextlib.asynccontextmanager
async def _relay(engine: object, outbox: Outbox):  # type: ignore[no-untyped-def]
    relay = OutboxRelay(engine=engine, outbox=outbox, bootstrap_servers=KAFKA_BOOTSTRAP, client_id="bench-relay")  # type: ignore[arg-type]
    task = asyncio.create_task(relay.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _wait_drained(connection: asyncpg.Connection, started: float, relay: asyncio.Task[None]) -> float:
    deadline = started + TIME_LIMIT_SECONDS
    while await connection.fetchval("SELECT EXISTS (SELECT 1 FROM outbox)"):
        if relay.done():
            raise RuntimeError("the relay stopped") from relay.exception()
        if time.perf_counter() > deadline:
            raise RuntimeError("the relay did not drain the outbox in time")
        await asyncio.sleep(0.02)
    return time.perf_counter()


async def _wait_counted(connection: asyncpg.Connection, expected: int, *, timeout: float) -> None:
    deadline = time.perf_counter() + timeout
    while True:
        counted = await connection.fetchval("SELECT coalesce(sum(joined_total), 0) FROM community_membership")
        if counted >= expected:
            if counted > expected:
                raise RuntimeError(f"counted {counted} joins for {expected} events: an event was applied twice")
            return
        if time.perf_counter() > deadline:
            raise RuntimeError(f"analytics counted {counted} of {expected} events in {timeout}s")
        await asyncio.sleep(0.02)
