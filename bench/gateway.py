"""`python -m bench.gateway`: the gateway's proxy hop on the real processes, beside the same requests sent
straight to the service (with the signed identity header the gateway would add), in the same run.

- Throughput of an authenticated read (GET /communities/{id}) and a small write (POST /members), closed loop:
  target proxied >= 25% of direct.
- Added latency of the hop, one request at a time, direct and proxied interleaved: target p50 <= 3 ms.
- The upstream client chosen by measurement (httpx issue 3215): every run goes through two gateways, one
  forwarding with aiohttp's client (the default) and one with httpx.AsyncClient, its pool tuned.
- The CPU time each request costs the gateway and the service, from /proc: the hop's cost where the
  machine is shared, when throughput and latency move with the neighbours' load.
"""

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections import Counter
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx

from bench import machine
from bench.http_path import InternalIdentity, Target
from bench.latency import summary
from bench.report import markdown, run_suite
from bench.world import platform_with_tenant
from gateway_svc.config import Settings
from tests.support.harness import ROOT, ServiceProcess

RESULTS = ROOT / "bench/results/gateway.json"
THROUGHPUT_TARGET = 0.25
ADDED_P50_TARGET_MS = 3.0
AIOHTTP_POOL = Settings.model_fields["upstream_max_connections"].default


@dataclass(frozen=True)
class Probe:
    """One request, sent alike to every target."""

    name: str
    method: str
    route: str
    """The path as the API documents it, for the report."""
    path: str
    body: Any = None


@dataclass(frozen=True)
class Way:
    """A way to the service: the client at its door, and the processes each request passes through."""

    target: Target
    processes: Mapping[str, int]
    """Name and process id of each, whose CPU time per request is measured."""


async def main(args: argparse.Namespace) -> dict[str, Any]:
    async with platform_with_tenant(["member-svc", "gateway"]) as (platform, tenant, api):
        community = await api.post("/communities", json={"name": "压测群", "kind": "vertical", "capacity": 100_000})
        community.raise_for_status()
        probes = [
            Probe("read", "GET", "/communities/{community_id}", f"/communities/{community.json()['id']}"),
            Probe("write", "POST", "/members", "/members", {"nickname": "压测会员"}),
        ]
        bearer = {"Authorization": f"Bearer {tenant.api_key}"}
        # Two gateways of their own, as deployed: the tests' 1 s credential cache would put a key lookup
        # on the path every second.
        production = {"CREDENTIAL_CACHE_SECONDS": "10"}
        async with AsyncExitStack() as stack:
            with_aiohttp = await platform.replica("gateway", **production, UPSTREAM_CLIENT="aiohttp")
            stack.callback(with_aiohttp.stop)
            with_httpx = await platform.replica(
                "gateway", **production, UPSTREAM_CLIENT="httpx", UPSTREAM_MAX_CONNECTIONS=str(args.httpx_pool)
            )
            stack.callback(with_httpx.stop)
            inner = InternalIdentity(platform, tenant.tenant_id)
            member = {"member-svc": _pid(platform.services["member-svc"])}
            ways = {
                "direct": Way(Target(platform.url("member-svc"), args.concurrency, inner), member),
                "gateway_aiohttp": Way(
                    Target(f"{with_aiohttp.url}/api/v1", args.concurrency, lambda: bearer),
                    {"gateway": _pid(with_aiohttp), **member},
                ),
                "gateway_httpx": Way(
                    Target(f"{with_httpx.url}/api/v1", args.concurrency, lambda: bearer),
                    {"gateway": _pid(with_httpx), **member},
                ),
            }
            for way in ways.values():
                await stack.enter_async_context(way.target)
            results = {probe.name: await measure(probe, ways, args) for probe in probes}
            if args.profile:
                results["profile"] = await profile(ways["gateway_aiohttp"], probes[0], args)
    return {
        "machine": await machine.describe(),
        "concurrency": args.concurrency,
        "seconds_per_run": args.seconds,
        "rounds": args.rounds,
        "latency_samples": args.samples,
        "load_generator": (
            f"aiohttp {aiohttp.__version__} ClientSession in the benchmark process (shares the cores), one per "
            f"target, {args.concurrency} workers sending back to back; runs of direct and both gateways "
            "interleaved round by round, each figure the median of the rounds"
        ),
        "gateways": (
            f"one process each, on the same member-svc: `gateway_aiohttp` forwards with aiohttp "
            f"{aiohttp.__version__} (UPSTREAM_CLIENT=aiohttp, pool of {AIOHTTP_POOL}), `gateway_httpx` with httpx "
            f"{httpx.__version__} AsyncClient (UPSTREAM_CLIENT=httpx, tuned: pool limits {args.httpx_pool}, "
            "keep-alive 4 s, trust_env off; a sweep of 8/16/64/200 connections cost the gateway least CPU per "
            "request at 8-16, since httpcore's pool bookkeeping grows with its size)"
        ),
        "targets": {"throughput_vs_direct": THROUGHPUT_TARGET, "added_p50_ms": ADDED_P50_TARGET_MS},
        **results,
    }


async def measure(probe: Probe, ways: Mapping[str, Way], args: argparse.Namespace) -> dict[str, Any]:
    """Throughput and latency of one probe on every way."""
    for way in ways.values():
        await throughput(way, probe, seconds=1.0, concurrency=args.concurrency)  # connections, caches
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, way in ways.items():
            runs[name].append(await throughput(way, probe, seconds=args.seconds, concurrency=args.concurrency))
    refuse_failures(probe, runs)
    per_second = {name: round(statistics.median(run["per_second"] for run in done)) for name, done in runs.items()}
    cpu = {name: _median_cpu(done) for name, done in runs.items()}
    latency = await latencies(probe, {name: way.target for name, way in ways.items()}, args.samples)
    proxied = [name for name in ways if name != "direct"]
    return {
        "request": f"{probe.method} {probe.route}",
        "per_second": per_second,
        "vs_direct": {name: round(per_second[name] / per_second["direct"], 3) for name in proxied},
        "cpu_ms_per_request": cpu,
        "latency": latency,
        "added_p50_ms": {name: round(latency[name]["p50_ms"] - latency["direct"]["p50_ms"], 2) for name in proxied},
        "runs": runs,
    }


async def throughput(way: Way, probe: Probe, *, seconds: float, concurrency: int) -> dict[str, Any]:
    """Requests answered per second by `concurrency` workers sending back to back for `seconds`, and the CPU
    time each request cost each process on the way."""
    statuses: list[int] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        while time.perf_counter() < deadline:
            statuses.append(await way.target.status(probe.method, probe.path, probe.body))

    cpu_before = {name: _cpu_seconds(pid) for name, pid in way.processes.items()}
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    ok = sum(1 for status in statuses if succeeded(status))
    cpu = {
        name: (_cpu_seconds(pid) - cpu_before[name]) * 1000 / max(1, len(statuses))
        for name, pid in way.processes.items()
    }
    return {
        "requests": len(statuses),
        "failures": len(statuses) - ok,
        "failed_statuses": dict(Counter(status for status in statuses if not succeeded(status))),
        "per_second": round(ok / elapsed),
        "cpu_ms_per_request": {name: round(ms, 3) for name, ms in cpu.items()},
    }


def succeeded(status: int) -> bool:
    """Whether a request was answered with success: status 0 (the connection failed or timed out) and 4xx/5xx
    are failures."""
    return 200 <= status < 400


class BenchmarkFailed(RuntimeError):
    """Requests failed during a measured run; a throughput or latency measured with failures is not published."""


def refuse_failures(probe: Probe, runs: Mapping[str, list[dict[str, Any]]]) -> None:
    """Raises BenchmarkFailed, naming the failures of each way, when any measured run had one."""
    failed = {
        name: (sum(run["failures"] for run in done), sum(run["requests"] for run in done))
        for name, done in runs.items()
        if any(run["failures"] for run in done)
    }
    if failed:
        counts = ", ".join(f"{name} {failures} of {requests}" for name, (failures, requests) in failed.items())
        statuses = {name: [run["failed_statuses"] for run in runs[name]] for name in failed}
        raise BenchmarkFailed(
            f"{probe.method} {probe.route}: requests failed ({counts}; statuses by run, 0 = no answer: {statuses}); "
            "no throughput is published"
        )


async def latencies(probe: Probe, targets: Mapping[str, Target], samples: int) -> dict[str, dict[str, float]]:
    """p50/p95/p99 of single requests, the targets taking turns so that each sees the same moments."""
    taken: dict[str, list[float]] = {name: [] for name in targets}
    for _ in range(samples):
        for name, target in targets.items():
            started = time.perf_counter()
            status = await target.status(probe.method, probe.path, probe.body)
            if not succeeded(status):
                raise BenchmarkFailed(f"{name}: {probe.method} {probe.path} answered {status or 'nothing'}")
            taken[name].append((time.perf_counter() - started) * 1000)
    return {name: summary(values, digits=3) for name, values in taken.items()}


async def profile(way: Way, probe: Probe, args: argparse.Namespace) -> dict[str, str]:
    """A py-spy profile of the gateway while it forwards the probe under load, as a speedscope file."""
    output = Path(args.profile)
    recorder = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "py-spy"),
        *("record", "--pid", str(way.processes["gateway"]), "--rate", "250", "--duration", str(int(args.seconds))),
        *("--format", "speedscope", "--output", str(output), "--nonblocking"),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await throughput(way, probe, seconds=args.seconds + 1, concurrency=args.concurrency)
    await asyncio.wait_for(recorder.wait(), 60)
    return {"request": f"{probe.method} {probe.route}", "speedscope": str(output)}


def _cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far, from /proc (fields 14 and 15 of its stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _median_cpu(runs: list[dict[str, Any]]) -> dict[str, float]:
    names = runs[0]["cpu_ms_per_request"]
    return {name: round(statistics.median(run["cpu_ms_per_request"][name] for run in runs), 3) for name in names}


def _pid(service: ServiceProcess) -> int:
    assert service.process is not None, f"{service.name} is not running"
    return service.process.pid


def table(results: dict[str, Any]) -> str:
    rows = []
    for name in ("read", "write"):
        probe = results[name]
        per_second, vs_direct, added = probe["per_second"], probe["vs_direct"], probe["added_p50_ms"]
        rows.append(
            (
                f"{probe['request']}: throughput, {results['concurrency']} concurrent",
                f"direct {per_second['direct']:,}/s · via gateway (aiohttp) {per_second['gateway_aiohttp']:,}/s "
                f"({vs_direct['gateway_aiohttp']:.0%}) · via gateway (httpx) {per_second['gateway_httpx']:,}/s "
                f"({vs_direct['gateway_httpx']:.0%})",
                f"target proxied ≥ {THROUGHPUT_TARGET:.0%} of direct",
            )
        )
        cpu = probe["cpu_ms_per_request"]
        rows.append(
            (
                f"{probe['request']}: CPU per request, under that load",
                f"gateway (aiohttp) {cpu['gateway_aiohttp']['gateway']} ms · gateway (httpx) "
                f"{cpu['gateway_httpx']['gateway']} ms · member-svc {cpu['direct']['member-svc']} ms",
                "user + system time of each process (/proc) over the runs, per request answered",
            )
        )
        latency = probe["latency"]
        rows.append(
            (
                f"{probe['request']}: latency, one at a time",
                f"p50 direct {latency['direct']['p50_ms']} ms · gateway (aiohttp) "
                f"{latency['gateway_aiohttp']['p50_ms']} ms (+{added['gateway_aiohttp']}) · gateway (httpx) "
                f"{latency['gateway_httpx']['p50_ms']} ms (+{added['gateway_httpx']})",
                f"target added p50 ≤ {ADDED_P50_TARGET_MS:g} ms",
            )
        )
    return markdown(rows)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of each throughput run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=1000, help="single requests per target for latency")
    parser.add_argument("--httpx-pool", type=int, default=16, help="connections of the httpx gateway's pool")
    parser.add_argument("--profile", help="also write a py-spy speedscope profile of the gateway here")
    parser.add_argument("--output", default=str(RESULTS))
    return parser.parse_args()


if __name__ == "__main__":
    run_suite(main, arguments(), table)
