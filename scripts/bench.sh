#!/usr/bin/env bash
# `make bench`: the benchmarks on real Kafka and PostgreSQL; results as JSON under bench/results/.
# `scripts/bench.sh foundation|members|content|campaigns|analytics|gateway|webhooks|imports` runs one suite.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/infra/up.sh
suite=${1:-all}
if [[ $suite == all || $suite == foundation ]]; then .venv/bin/python -m bench.run; fi
if [[ $suite == all || $suite == members ]]; then .venv/bin/python -m bench.members; fi
if [[ $suite == all || $suite == content ]]; then .venv/bin/python -m bench.content; fi
if [[ $suite == all || $suite == campaigns ]]; then .venv/bin/python -m bench.campaigns; fi
if [[ $suite == all || $suite == analytics ]]; then .venv/bin/python -m bench.analytics; fi
if [[ $suite == all || $suite == gateway ]]; then .venv/bin/python -m bench.gateway; fi
if [[ $suite == all || $suite == webhooks ]]; then .venv/bin/python -m bench.webhooks; fi
if [[ $suite == all || $suite == imports ]]; then .venv/bin/python -m bench.imports; fi
