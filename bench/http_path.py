"""HTTP path: joins through the gateway (and straight to member-svc) of the five real service processes."""

import asyncio
import json
import math
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import aiohttp
import asyncpg
import httpx

from bench.bus_path import plain_dsn
from bench.latency import percentile, summary
from tests.support.harness import SERVICES, Platform

MEMBERS = 500
POLL_INTERVAL_SECONDS = 0.02
TIME_LIMIT_SECONDS = 120.0
MIN_SUSTAINABLE_RATE = 10


# Below uvicorn's 5 s keep-alive, so the client never reuses a connection the server is closing.
KEEPALIVE_SECONDS = 4.0
# As httpx's timeout=30: for a pooled connection (connect included), and between reads of the answer.
REQUEST_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=30, sock_read=30)
IDENTITY_REFRESH_SECONDS = 30.0


class InternalIdentity:
    """The gateway's signed identity header, re-signed every 30 s as the gateway does (tokens live 60 s)."""

    def __init__(self, platform: Platform, tenant_id: str) -> None:
        self.platform, self.tenant_id = platform, tenant_id
        self._signed_at, self._headers = -math.inf, {}

    def __call__(self) -> Mapping[str, str]:
        if time.monotonic() - self._signed_at > IDENTITY_REFRESH_SECONDS:
            self._signed_at, self._headers = time.monotonic(), self.platform.identity_header(self.tenant_id)
        return self._headers


class Target:
    """One service as the load generator sees it: its own aiohttp session and the headers every request carries."""

    def __init__(self, base_url: str, concurrency: int, headers: Callable[[], Mapping[str, str]]) -> None:
        self.base_url, self._headers = base_url.rstrip("/"), headers
        self.session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency, keepalive_timeout=KEEPALIVE_SECONDS),
            timeout=REQUEST_TIMEOUT,
        )

    async def __aenter__(self) -> "Target":
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.session.close()

    async def request(self, method: str, path: str, body: object = None) -> tuple[int, bytes]:
        """The status and the whole body (read, so the connection goes back to the pool for reuse)."""
        async with self.session.request(method, self.base_url + path, json=body, headers=self._headers()) as response:
            return response.status, await response.read()

    async def status(self, method: str, path: str, body: object = None) -> int:
        """The status code; 0 when the connection failed or timed out."""
        try:
            return (await self.request(method, path, body))[0]
        except (aiohttp.ClientError, TimeoutError):
            return 0

    async def read_json(self, method: str, path: str, body: object = None) -> Any:
        """The decoded JSON answer; raises on a 4xx or 5xx status."""
        status, content = await self.request(method, path, body)
        if status >= 400:
            raise RuntimeError(f"{method} {self.base_url}{path}: {status} {content[:200]!r}")
        return json.loads(content)


@dataclass
class Clients:
    gateway: Target
    direct: Target
    analytics: Target
    counts: asyncpg.Connection


async def measure(
    *, joins: int, concurrency: int, rate: int, seconds: float, latency_communities: int
) -> dict[str, object]:
    """Sustained joins/s through the gateway and directly, then latency to analytics at two offered rates.

    The latency runs offer half the sustained gateway rate (what the platform keeps up with), then `rate`.
    """
    with tempfile.TemporaryDirectory(prefix="bench-platform-") as workdir:
        platform = await Platform.create(Path(workdir), list(SERVICES))
        try:
            return await _measure(platform, joins, concurrency, rate, seconds, latency_communities)
        finally:
            await platform.close()


async def _measure(
    platform: Platform, joins: int, concurrency: int, rate: int, seconds: float, latency_communities: int
) -> dict[str, object]:
    async with httpx.AsyncClient(timeout=30) as admin:  # only for onboarding the tenant
        api_key, tenant_id = await _tenant(platform, admin)
    inner = InternalIdentity(platform, tenant_id)
    bearer = {"Authorization": f"Bearer {api_key}"}
    counts = await asyncpg.connect(plain_dsn(platform.databases["analytics-svc"]))
    try:
        async with (
            Target(f"{platform.url('gateway')}/api/v1", concurrency, lambda: bearer) as gateway,
            Target(platform.url("member-svc"), concurrency, inner) as direct,
            Target(platform.url("analytics-svc"), concurrency, inner) as analytics,
        ):
            clients = Clients(gateway, direct, analytics, counts)
            members = await _new_members(direct, MEMBERS, concurrency)
            per_community = min(len(members), 100)
            communities = math.ceil(joins / per_community)
            via_gateway = await _sustained(
                clients,
                gateway,
                await _new_communities(direct, communities),
                members[:per_community],
                joins,
                concurrency,
            )
            via_direct = await _sustained(
                clients,
                direct,
                await _new_communities(direct, communities),
                members[:per_community],
                joins,
                concurrency,
            )
            # The sustainable run goes first: the sustained runs above leave nothing queued (all counted), while
            # an overloaded fixed-rate run may leave a backlog behind that would land in the next run.
            sustainable = max(MIN_SUSTAINABLE_RATE, int(via_gateway["joins_per_second"]) // 2)  # type: ignore[call-overload]
            latency_sustainable = await _latency_run(clients, members, sustainable, seconds, latency_communities)
            latency_sustainable["offered_basis"] = (
                f"half the sustained gateway rate ({via_gateway['joins_per_second']} joins/s), rounded down, "
                f"at least {MIN_SUSTAINABLE_RATE}/s"
            )
            latency = await _latency_run(clients, members, rate, seconds, latency_communities)
    finally:
        await counts.close()
    return {
        "topic_prefix": platform.prefix,
        "http_workers": "one process per service (two for gateway and member-svc measured slower: the cores are the limit)",
        "load_generator": (
            f"aiohttp {aiohttp.__version__} ClientSession in the benchmark process (shares the cores), one per target "
            f"with TCPConnector(limit={concurrency}, keepalive_timeout={KEEPALIVE_SECONDS:g}); {concurrency} "
            "concurrent joins in the sustained runs, open loop at the offered rate in the latency runs"
        ),
        "sustained_gateway": via_gateway,
        "sustained_direct": via_direct,
        "gateway_vs_direct": round(via_gateway["joins_per_second"] / via_direct["joins_per_second"], 2),  # type: ignore[operator]
        "latency": latency,
        "latency_sustainable": latency_sustainable,
    }


async def _latency_run(
    clients: Clients, members: list[str], rate: int, seconds: float, latency_communities: int
) -> dict[str, object]:
    """A latency run on communities of its own, enough of them for `rate` x `seconds` distinct joins."""
    needed = max(latency_communities, math.ceil(rate * seconds / len(members)))
    return await _latency(clients, await _new_communities(clients.direct, needed), members, rate, seconds)


async def _tenant(platform: Platform, client: httpx.AsyncClient) -> tuple[str, str]:
    tenant = await platform.new_tenant(client)
    if isinstance(tenant, str):  # older harness: the key alone
        raise RuntimeError("Platform.new_tenant must return the tenant id with the key")
    return tenant.api_key, tenant.tenant_id


async def _bounded(concurrency: int, jobs: Sequence[object], run) -> list[object]:  # type: ignore[no-untyped-def]
    """Runs `run(job)` for every job with at most `concurrency` in flight; results in job order."""
    results: list[object] = [None] * len(jobs)
    cursor = iter(range(len(jobs)))

    async def worker() -> None:
        for index in cursor:
            results[index] = await run(jobs[index])

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


async def _new_members(direct: Target, count: int, concurrency: int) -> list[str]:
    async def create(index: object) -> str:
        return str((await direct.read_json("POST", "/members", {"nickname": f"bench member {index}"}))["id"])

    return [str(m) for m in await _bounded(min(concurrency, 32), list(range(count)), create)]


async def _new_communities(direct: Target, count: int) -> list[str]:
    async def create(_: object) -> str:
        body = {"name": f"bench-{uuid.uuid4().hex[:12]}", "kind": "vertical", "capacity": 100_000}
        return str((await direct.read_json("POST", "/communities", body))["id"])

    return [str(c) for c in await _bounded(16, list(range(count)), create)]


async def _post_join(api: Target, community_id: str, member_id: str) -> int:
    """The join's status code; 0 when the connection failed."""
    body = {"member_id": member_id, "channel": "qr"}
    return await api.status("POST", f"/communities/{community_id}/members", body)


async def _sustained(
    clients: Clients, api: Target, communities: list[str], members: list[str], joins: int, concurrency: int
) -> dict[str, object]:
    """A fixed number of joins, `concurrency` at a time; joins/s until analytics counts them all."""
    # Consecutive joins go to different communities, as many tenants' joins would.
    jobs = [(communities[i % len(communities)], members[i // len(communities)]) for i in range(joins)]

    async def join(job: object) -> int:
        community_id, member_id = job  # type: ignore[misc]
        return await _post_join(api, community_id, member_id)

    started = time.perf_counter()
    statuses = await asyncio.wait_for(_bounded(concurrency, jobs, join), TIME_LIMIT_SECONDS)
    answered = time.perf_counter() - started
    created = sum(1 for s in statuses if s == 201)
    await _wait_counted(clients.counts, communities, created)
    visible = time.perf_counter() - started
    return {
        "joins": joins,
        "created": created,
        "errors": joins - created,
        "answered_per_second": round(joins / answered),
        "joins_per_second": round(created / visible),
        "seconds_to_last_counted": round(visible, 3),
    }


async def _wait_counted(counts: asyncpg.Connection, communities: list[str], expected: int) -> None:
    ids = [uuid.UUID(c) for c in communities]
    deadline = time.perf_counter() + TIME_LIMIT_SECONDS
    while True:
        counted = await counts.fetchval(
            "SELECT coalesce(sum(joined_total), 0) FROM community_membership WHERE community_id = ANY($1)", ids
        )
        if counted >= expected:
            return
        if time.perf_counter() > deadline:
            raise RuntimeError(f"analytics counted {counted} of {expected} joins in time")
        await asyncio.sleep(POLL_INTERVAL_SECONDS)


@dataclass
class _Community:
    id: str
    pending: list[tuple[int, float]] = field(default_factory=list)
    """(how many joins the count must reach, when the join was due to be sent)"""


async def _latency(
    clients: Clients, community_ids: list[str], members: list[str], rate: int, seconds: float
) -> dict[str, object]:
    """Open loop at `rate` joins/s: each join's time from its scheduled send to its count readable in analytics."""
    total = int(rate * seconds)
    communities = [_Community(c) for c in community_ids]
    if total > len(communities) * len(members):
        raise ValueError("not enough member x community pairs for the latency run")
    latencies: list[float] = []
    statuses: list[int] = []
    lags: list[float] = []
    done = asyncio.Event()

    async def join(index: int, due: float) -> None:
        community = communities[index % len(communities)]
        member_id = members[index // len(communities)]
        community.pending.append((index // len(communities) + 1, due))
        statuses.append(await _post_join(clients.gateway, community.id, member_id))

    async def watch(community: _Community) -> None:
        # One poller per community: each GET settles every pending join the count has reached.
        while not (done.is_set() and not community.pending):
            if community.pending:
                answer = await clients.analytics.read_json("GET", f"/analytics/communities/{community.id}/members")
                seen, now = answer["joined_total"], time.perf_counter()
                latencies.extend(now - due for k, due in community.pending if k <= seen)
                community.pending = [(k, due) for k, due in community.pending if k > seen]
            await asyncio.sleep(POLL_INTERVAL_SECONDS)

    watchers = [asyncio.create_task(watch(c)) for c in communities]
    senders: list[asyncio.Task[None]] = []
    started = time.perf_counter()
    for index in range(total):
        due = started + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lags.append(time.perf_counter() - due)
        senders.append(asyncio.create_task(join(index, due)))
    await asyncio.wait_for(asyncio.gather(*senders), TIME_LIMIT_SECONDS)
    done.set()
    try:
        await asyncio.wait_for(asyncio.gather(*watchers), 30)
    except TimeoutError:
        for watcher in watchers:
            watcher.cancel()
    return {
        "offered_per_second": rate,
        "seconds": seconds,
        "joins": total,
        "errors": sum(1 for s in statuses if s != 201),
        "measured": len(latencies),
        "communities": len(communities),
        **summary([seconds * 1000 for seconds in latencies], digits=1),
        "max_ms": _ms(max(latencies, default=math.nan)),
        "send_lag_p99_ms": _ms(percentile(lags, 0.99)),
        "timing": (
            "from the join's scheduled send time (open loop) to the GET on analytics-svc (direct, not through the "
            f"gateway, polled every {POLL_INTERVAL_SECONDS * 1000:.0f} ms per community) that shows it"
        ),
    }


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)
