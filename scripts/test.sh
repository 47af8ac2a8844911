#!/usr/bin/env bash
# `make test`: lint, then the whole suite against real Kafka and PostgreSQL (installed and started when absent).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/infra/up.sh

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy shared/src services/*/src
exec .venv/bin/pytest "$@"
