#!/usr/bin/env bash
# `make bench`: the benchmarks on real Kafka and PostgreSQL; results as JSON under bench/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/infra/up.sh
exec .venv/bin/python -m bench.run "$@"
