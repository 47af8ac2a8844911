"""`python -m bench.run`: every measurement in one run on the same broker; JSON to bench/results, table to stdout."""

import argparse

from bench import bus_path, http_path, machine, raw_kafka, report
from tests.support.harness import ROOT

RESULTS = ROOT / "bench/results/foundation.json"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--raw-messages", type=int, default=200_000)
    parser.add_argument("--bus-events", type=int, default=100_000)
    parser.add_argument("--joins", type=int, default=2_000, help="joins per sustained run (gateway, then direct)")
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rate", type=int, default=500, help="offered joins/s of the latency run")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of the latency run")
    parser.add_argument("--latency-communities", type=int, default=10)
    parser.add_argument("--output", default=str(RESULTS))
    return parser.parse_args()


async def main(args: argparse.Namespace) -> dict[str, object]:
    raw = await raw_kafka.measure(count=args.raw_messages)
    bus = await bus_path.measure(count=args.bus_events)
    bus["ratio_to_raw_produce"] = round(bus["end_to_end_per_second"] / raw["produce_per_second"], 3)  # type: ignore[operator]
    http = await http_path.measure(
        joins=args.joins,
        concurrency=args.concurrency,
        rate=args.rate,
        seconds=args.seconds,
        latency_communities=args.latency_communities,
    )
    http["concurrency"] = args.concurrency
    return {
        "machine": await machine.describe(),
        "raw_kafka": raw,
        "bus_path": bus,
        "http_path": http,
    }


if __name__ == "__main__":
    report.run_suite(main, arguments(), report.table)
