"""The Markdown tables for the README, from the results, and running a suite to its results file."""

import argparse
import json
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import uvloop


def table(results: dict) -> str:  # type: ignore[type-arg]
    raw, bus, http = results["raw_kafka"], results["bus_path"], results["http_path"]
    machine = results["machine"]
    gateway, direct, latency = http["sustained_gateway"], http["sustained_direct"], http["latency"]
    rows = [
        (
            "Raw aiokafka produce (acks=all, idempotent, linger 5 ms, 256 KB batches)",
            f"{raw['produce_per_second']:,} msg/s",
            f"{raw['messages']:,} x {raw['message_bytes']} B",
        ),
        (
            "Raw aiokafka consume (group, one manual commit)",
            f"{raw['consume_per_second']:,} msg/s",
            f"{raw['messages']:,} messages",
        ),
        (
            "Bus: outbox → relay → Kafka → consumer + inbox → analytics rows",
            f"{bus['end_to_end_per_second']:,} events/s",
            f"{bus['ratio_to_raw_produce']:.0%} of raw produce; relay alone {bus['relay_drained_per_second']:,}/s",
        ),
        (
            "HTTP joins via gateway, until counted in analytics",
            f"{gateway['joins_per_second']:,} joins/s",
            f"{gateway['joins']:,} joins, {http['concurrency']} concurrent, {gateway['errors']} errors",
        ),
        (
            "HTTP joins straight to member-svc, until counted",
            f"{direct['joins_per_second']:,} joins/s",
            f"gateway/direct = {http['gateway_vs_direct']:.2f}",
        ),
        (
            f"Join → count readable, offered {latency['offered_per_second']}/s for {latency['seconds']:g} s",
            f"p50 {latency['p50_ms']:,.0f} ms · p95 {latency['p95_ms']:,.0f} ms · p99 {latency['p99_ms']:,.0f} ms",
            f"{latency['measured']:,} of {latency['joins']:,} measured, {latency['errors']} errors",
        ),
    ]
    if sustainable := http.get("latency_sustainable"):  # absent from results of older runs
        rows.append(
            (
                f"Join → count readable, offered {sustainable['offered_per_second']}/s "
                f"(half the sustained gateway rate) for {sustainable['seconds']:g} s",
                f"p50 {sustainable['p50_ms']:,.0f} ms · p95 {sustainable['p95_ms']:,.0f} ms · "
                f"p99 {sustainable['p99_ms']:,.0f} ms",
                f"{sustainable['measured']:,} of {sustainable['joins']:,} measured, {sustainable['errors']} errors",
            )
        )
    lines = [
        f"Measured {machine['date']} on {machine['cores']} cores ({machine['cpu']}), Python {machine['python']}, "
        f"Kafka {machine['kafka']}, PostgreSQL {machine['postgres']}; one broker, one run.",
        "",
        "| Path | Throughput / latency | Notes |",
        "|---|---|---|",
        *(f"| {path} | {figure} | {note} |" for path, figure, note in rows),
    ]
    return "\n".join(lines)


def markdown(rows: list[tuple[str, str, str]]) -> str:
    """A Measurement | Result | Notes table."""
    lines = ["| Measurement | Result | Notes |", "|---|---|---|"]
    lines += [f"| {measurement} | {result} | {notes} |" for measurement, result, notes in rows]
    return "\n".join(lines)


def run_suite(
    main: Callable[[argparse.Namespace], Awaitable[dict[str, Any]]],
    options: argparse.Namespace,
    table: Callable[[dict[str, Any]], str],
) -> None:
    """Runs a suite, writes its results to `options.output` and prints the README table."""
    logging.basicConfig(level=logging.ERROR)
    random.seed(7)
    results = uvloop.run(main(options))
    with open(options.output, "w") as out:
        json.dump(results, out, indent=2, ensure_ascii=False)
        out.write("\n")
    print(table(results))
    print(f"\nResults: {options.output}")
