#!/usr/bin/env bash
# `make bench`: the benchmarks on real Kafka and PostgreSQL; results as JSON under bench/results/.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
scripts/bootstrap.sh
scripts/infra/kafka.sh install
scripts/infra/kafka.sh start
scripts/infra/postgres.sh start
export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:${KAFKA_PORT:-9092}
export QUNYUN_TEST_POSTGRES="postgresql://qunyun:qunyun@127.0.0.1:${QUNYUN_PG_PORT:-55432}/postgres"
exec .venv/bin/python -m bench.run "$@"
