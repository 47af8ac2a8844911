#!/usr/bin/env bash
# `make unit`, `make integration`, `make e2e`: one tier of the suite, chosen by its pytest marker. Unit tests
# need only the virtualenv; the other tiers run against real Kafka, PostgreSQL and Redis (started when absent).
# `scripts/tier.sh <tier> [pytest arguments]`.
set -euo pipefail
cd "$(dirname "$0")/.."
tier=${1:?usage: scripts/tier.sh unit|integration|e2e|faults|deploy [pytest arguments]}
shift
if [[ $tier == unit || $tier == deploy ]]; then
  scripts/bootstrap.sh
else
  . scripts/infra/up.sh
fi
exec .venv/bin/pytest -m "$tier" "$@"
