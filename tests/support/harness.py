"""Test harness: real PostgreSQL databases, real Kafka topics and real service processes.

Every test session gets its own topic prefix and its own databases, so sessions never collide and
nothing a previous run left behind is read. What unit tests use (an embedded database, routes in process,
staged events, waiting for a condition) is in `qunyun_shared.testing`, which starts nothing.
"""

import asyncio
import base64
import ctypes
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from sqlalchemy import MetaData, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

from qunyun_shared import identity
from qunyun_shared.db import create_engine
from qunyun_shared.events import new_event
from qunyun_shared.events.catalogue import spec_for
from qunyun_shared.events.kafka_binding import to_kafka
from qunyun_shared.testing import free_port
from qunyun_shared.topics import create_topics, topic_for

ROOT = Path(__file__).resolve().parents[2]
KAFKA_BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
POSTGRES_ADMIN_DSN = os.environ.get("QUNYUN_TEST_POSTGRES", "postgresql://qunyun:qunyun@127.0.0.1:55432/postgres")
REDIS_URL = os.environ.get("QUNYUN_REDIS_URL", "redis://127.0.0.1:6379/0")


@dataclass(frozen=True)
class ServiceSpec:
    dir: str
    package: str


SERVICES = {
    "member-svc": ServiceSpec("member-svc", "member_svc"),
    "content-svc": ServiceSpec("content-svc", "content_svc"),
    "campaign-svc": ServiceSpec("campaign-svc", "campaign_svc"),
    "analytics-svc": ServiceSpec("analytics-svc", "analytics_svc"),
    "gateway": ServiceSpec("gateway", "gateway_svc"),
}


async def create_database(name: str, admin_dsn: str = POSTGRES_ADMIN_DSN) -> str:
    """Creates an empty PostgreSQL database owned by a login role of the same name, and returns its
    SQLAlchemy URL as that role: as in production, a service owns its own database and may not even
    connect to another's (CONNECT is revoked from PUBLIC), nor create databases or roles."""
    password = secrets.token_hex(16)
    connection = await asyncpg.connect(admin_dsn)
    try:
        await connection.execute(
            f"CREATE ROLE \"{name}\" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{password}'"
        )
        # PostgreSQL 15 lets a role give a database to another only if it is a member of that role; the
        # membership also lets the tests' admin role end the service's connections when dropping it.
        await connection.execute(f'GRANT "{name}" TO CURRENT_USER')
        await connection.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')
        await connection.execute(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC')
    finally:
        await connection.close()
    admin = make_url(admin_dsn)
    url = admin.set(drivername="postgresql+asyncpg", username=name, password=password, database=name)
    return url.render_as_string(hide_password=False)


async def drop_database(name: str, admin_dsn: str = POSTGRES_ADMIN_DSN) -> None:
    """Drops a database of the tests and its role, ending their connections to it first. Not WITH
    (FORCE): that also tries to end an autovacuum worker (after a bulk load), which only a superuser
    may; a plain DROP cancels autovacuum itself."""
    connection = await asyncpg.connect(admin_dsn)
    try:
        for attempt in range(20):
            # Only backends of roles whose privileges we hold may be ended (the database's own role).
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = $1 AND pid <> pg_backend_pid() AND pg_has_role(usesysid, 'USAGE')",
                name,
            )
            try:
                await connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
                break
            except asyncpg.ObjectInUseError:
                if attempt == 19:
                    raise
                await asyncio.sleep(0.25)  # ended connections take a moment to go
        await connection.execute(f'DROP ROLE IF EXISTS "{name}"')
    finally:
        await connection.close()


def _die_with_parent() -> None:
    """In the child: SIGTERM when the test run that started it ends, however it ends (a run stopped by a
    timeout or ^C left services serving, and holding CPU, for hours)."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_PR_SET_PDEATHSIG = 1


@dataclass
class ServiceProcess:
    """One service running as a real process (`python -m <package> serve`)."""

    name: str
    spec: ServiceSpec
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def migrate(self) -> None:
        subprocess.run(
            [sys.executable, "-m", self.spec.package, "migrate"],
            env=self._environment(),
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", self.spec.package, "serve"],
            env=self._environment(),
            stdout=log,
            stderr=log,
            preexec_fn=_die_with_parent,
        )

    def kill(self) -> None:
        """SIGKILL: no graceful shutdown, as when a pod is evicted or a node dies."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    async def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while True:
                if self.process is not None and self.process.poll() is not None:
                    raise RuntimeError(f"{self.name} exited; log:\n{self.log_tail()}")
                try:
                    if (await client.get(f"{self.url}/readyz", timeout=2)).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} not ready in {timeout}s; log:\n{self.log_tail()}")
                await asyncio.sleep(0.2)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def _environment(self) -> dict[str, str]:
        return {**os.environ, **self.env, "HOST": "127.0.0.1", "PORT": str(self.port)}


@dataclass
class Platform:
    """The services of one test session on their own databases and topics."""

    prefix: str
    secret: str
    admin_token: str
    workdir: Path
    personal_data_key: str = field(default_factory=lambda: base64.b64encode(secrets.token_bytes(32)).decode())
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    databases: dict[str, str] = field(default_factory=dict)
    kafka: str = KAFKA_BOOTSTRAP
    postgres: str = POSTGRES_ADMIN_DSN  # the DSN that creates the services' databases
    # "sqlite": each service on an embedded SQLite file in `workdir`, as `make run` starts them.
    engine: str = "postgresql"

    @classmethod
    async def create(
        cls,
        workdir: Path,
        names: list[str],
        *,
        engine: str = "postgresql",
        kafka: str = KAFKA_BOOTSTRAP,
        postgres: str = POSTGRES_ADMIN_DSN,
    ) -> "Platform":
        """Starts `names` on fresh databases (PostgreSQL's, or SQLite files) and topics, on the given broker
        and cluster (the test run's own unless said)."""
        platform = cls(
            prefix=f"qt{secrets.token_hex(4)}",
            secret=secrets.token_urlsafe(32),
            admin_token=secrets.token_urlsafe(32),
            workdir=workdir,
            engine=engine,
            kafka=kafka,
            postgres=postgres,
        )
        await create_topics(kafka, platform.prefix)
        for name in names:
            await platform.add(name)
        if "gateway" in platform.services:
            gateway = platform.services["gateway"]
            # Revocations take effect within a second, so tests of them need not wait long.
            gateway.env["CREDENTIAL_CACHE_SECONDS"] = "1"
            # The key signing operators' access tokens is the gateway's alone, as in production.
            gateway.env["ACCESS_TOKEN_SECRET"] = secrets.token_urlsafe(32)
            # Seals partners' webhook signing secrets at rest.
            gateway.env["WEBHOOK_SECRET_KEY"] = base64.b64encode(secrets.token_bytes(32)).decode()
            # Rate-limit budgets under the session's own Redis keys. The default plan is far above what
            # tests and benchmarks send; a tenant's own plan (PUT /admin/tenants/{id}/rate-limits) is
            # how tests meet the limits.
            gateway.env.update(
                REDIS_URL=REDIS_URL,
                REDIS_KEY_PREFIX=platform.prefix,
                RATE_LIMIT_PER_CREDENTIAL="1000000",
                RATE_LIMIT_PER_TENANT="1000000",
                # Every test's client is 127.0.0.1: per-address limits are met on a replica of their own.
                SIGN_IN_PER_ADDRESS="1000000",
                UNKNOWN_KEYS_PER_ADDRESS="1000000",
            )
            for upstream in ("member", "content", "campaign", "analytics"):
                if f"{upstream}-svc" in platform.services:
                    gateway.env[f"{upstream.upper()}_SVC_URL"] = platform.services[f"{upstream}-svc"].url
        for service in platform.services.values():
            await asyncio.to_thread(service.migrate)
            service.start()
        for service in platform.services.values():
            await service.wait_ready()
        return platform

    async def add(self, name: str) -> None:
        spec = SERVICES[name]
        database = f"{self.prefix}_{spec.package}"
        if self.engine == "sqlite":
            self.databases[name] = f"sqlite+aiosqlite:///{self.workdir / database}.db"
        else:
            self.databases[name] = await create_database(database, self.postgres)
        self.services[name] = ServiceProcess(
            name=name,
            spec=spec,
            log_path=self.workdir / f"{name}.log",
            env={
                "DATABASE_URL": self.databases[name],
                "KAFKA_BOOTSTRAP_SERVERS": self.kafka,
                "KAFKA_TOPIC_PREFIX": self.prefix,
                "INTERNAL_TOKEN_SECRET": self.secret,
                "PLATFORM_ADMIN_TOKEN": self.admin_token,
                "PERSONAL_DATA_KEY": self.personal_data_key,
                # The gateway's webhooks go to receivers the tests run on 127.0.0.1; a short timeout keeps
                # the lease of a delivery cut off by a killed gateway short too.
                "WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
                "WEBHOOK_TIMEOUT_SECONDS": "2",
                "LOG_LEVEL": "INFO",
            },
        )

    async def replica(self, name: str, **env: str) -> ServiceProcess:
        """A second process of a running service on the same database and topics, as on a scaled-out
        deployment, its environment changed by `env`; the caller stops it."""
        first = self.services[name]
        second = ServiceProcess(
            name=f"{name}-replica", spec=first.spec, log_path=self.workdir / f"{name}-replica.log", env=first.env | env
        )
        second.start()
        await second.wait_ready()
        return second

    async def close(self) -> None:
        for service in self.services.values():
            service.stop()
        for name in self.databases if self.engine != "sqlite" else ():
            await drop_database(f"{self.prefix}_{SERVICES[name].package}", self.postgres)

    def url(self, name: str) -> str:
        return self.services[name].url

    def identity_header(self, tenant_id: str, permissions: frozenset[str] = frozenset({"*"})) -> dict[str, str]:
        """What the gateway would send for a caller of `tenant_id`: for calling a service directly."""
        caller = identity.Identity(tenant_id=tenant_id, principal="test", roles=("owner",), permissions=permissions)
        return {identity.IDENTITY_HEADER: identity.sign(caller, self.secret)}

    async def new_tenant(self, client: httpx.AsyncClient) -> "TenantKey":
        """Onboards a tenant through the gateway: its id and its owner API key."""
        response = await client.post(
            f"{self.url('gateway')}/admin/tenants",
            json={"name": f"tenant-{secrets.token_hex(4)}"},
            headers={"Authorization": f"Bearer {self.admin_token}"},
        )
        response.raise_for_status()
        return TenantKey(tenant_id=response.json()["tenant_id"], api_key=response.json()["api_key"])

    async def publish(self, source: str, tenant_id: str, *payloads: Any) -> None:
        """Puts events on this session's topics as the service `source` would, in order."""
        producer = AIOKafkaProducer(bootstrap_servers=self.kafka)
        await producer.start()
        try:
            for payload in payloads:
                envelope = new_event(source=source, tenant_id=tenant_id, payload=payload)
                record = to_kafka(envelope)
                topic = topic_for(self.prefix, spec_for(type(payload)))
                await producer.send_and_wait(topic, record.value, key=record.key, headers=record.headers)
        finally:
            await producer.stop()

    async def read_topic(
        self, stream: str, *, until: Callable[[list[ConsumerRecord]], bool], timeout: float = 30.0
    ) -> list[ConsumerRecord]:
        """Reads a topic of this session from the start until `until(records)` holds, then on to its end."""
        return await read_topic(self.kafka, f"{self.prefix}.{stream}", until=until, timeout=timeout)


async def read_topic(
    bootstrap: str, topic: str, *, until: Callable[[list[ConsumerRecord]], bool], timeout: float = 30.0
) -> list[ConsumerRecord]:
    """Reads `topic` from the start until `until(records)` holds, then on to its end."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False, group_id=None
    )
    await consumer.start()
    records: list[ConsumerRecord] = []
    try:
        deadline = time.monotonic() + timeout
        while not until(records):
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}: condition not met with {len(records)} records")
            for partition_records in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(partition_records)
        ends = await consumer.end_offsets(list(consumer.assignment()))
        while [tp for tp, end in ends.items() if await consumer.position(tp) < end]:
            for partition_records in (await consumer.getmany(timeout_ms=500)).values():
                records.extend(partition_records)
    finally:
        await consumer.stop()
    return records


@dataclass(frozen=True)
class TenantKey:
    tenant_id: str
    api_key: str


@asynccontextmanager
async def scratch_database(metadata: MetaData) -> AsyncIterator[AsyncEngine]:
    """A PostgreSQL database of its own with `metadata`'s tables, dropped afterwards."""
    name = f"it_{secrets.token_hex(4)}"
    engine = create_engine(await create_database(name))
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        yield engine
    finally:
        await engine.dispose()
        await drop_database(name)


async def waiting_on_locks(engine: AsyncEngine) -> int:
    """How many transactions on `engine`'s database are blocked by another's locks right now: what tells a
    test that a concurrent request is waiting its turn, not merely slow."""
    async with engine.connect() as connection:
        blocked = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND cardinality(pg_blocking_pids(pid)) > 0"
            )
        )
    return int(blocked or 0)
