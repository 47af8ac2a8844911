#!/usr/bin/env bash
# `make stop`: ends what `make run` started.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
for pidfile in .run/pids/*.pid; do
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null && for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null
  rm -f "$pidfile"
done
if [ -f .run/pids/kafka.started-by-run ]; then
  scripts/infra/kafka.sh stop
  rm -f .run/pids/kafka.started-by-run
fi
if [ -f .run/pids/redis.started-by-run ]; then
  scripts/infra/redis.sh stop
  rm -f .run/pids/redis.started-by-run
fi
