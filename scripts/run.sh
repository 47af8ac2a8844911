#!/usr/bin/env bash
# `make run`: Kafka and Redis plus the five services on embedded SQLite, a demo tenant seeded, URLs printed.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
RUN=.run
mkdir -p "$RUN/data" "$RUN/logs" "$RUN/pids"

scripts/bootstrap.sh
scripts/infra/kafka.sh install
# `make stop` stops Kafka only if this started it (a test run or benchmark may be using it).
scripts/infra/kafka.sh status >/dev/null || touch "$RUN/pids/kafka.started-by-run"
scripts/infra/kafka.sh start
scripts/infra/kafka.sh create-topics
# Redis holds the gateway's rate-limit budgets; stopped by `make stop` under the same rule as Kafka.
scripts/infra/redis.sh status >/dev/null || touch "$RUN/pids/redis.started-by-run"
scripts/infra/redis.sh start

# Secrets are generated once per checkout and never committed (.run/ is ignored).
add_secret() {  # NAME python-expression
  grep -q "^$1=" "$RUN/secrets.env" 2>/dev/null || echo "$1=$(.venv/bin/python -c "import base64, os, secrets; print($2)")" >> "$RUN/secrets.env"
}
(umask 077 && touch "$RUN/secrets.env")
add_secret INTERNAL_TOKEN_SECRET "secrets.token_urlsafe(32)"
add_secret PLATFORM_ADMIN_TOKEN "secrets.token_urlsafe(32)"
add_secret ACCESS_TOKEN_SECRET "secrets.token_urlsafe(32)"  # read by the gateway only
add_secret PERSONAL_DATA_KEY "base64.b64encode(os.urandom(32)).decode()"
add_secret WEBHOOK_SECRET_KEY "base64.b64encode(os.urandom(32)).decode()"  # seals webhook secrets (gateway)
set -a; . "$RUN/secrets.env"; set +a
export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:${KAFKA_PORT:-9092} HOST=127.0.0.1
export REDIS_URL="redis://127.0.0.1:${QUNYUN_REDIS_PORT:-6379}/0"

start_service() {  # dir package port
  local pidfile="$RUN/pids/$1.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return; fi
  export DATABASE_URL="sqlite+aiosqlite:///$ROOT/$RUN/data/$2.db" PORT=$3
  .venv/bin/python -m "$2" migrate
  nohup .venv/bin/python -m "$2" serve >"$RUN/logs/$1.log" 2>&1 &
  echo $! > "$pidfile"
}
start_service member-svc member_svc 8001
start_service content-svc content_svc 8002
start_service campaign-svc campaign_svc 8003
start_service analytics-svc analytics_svc 8004
start_service gateway gateway_svc 8000

# The demo brand: 120 days of community life, seeded once (a re-run with a working key leaves it as it is).
.venv/bin/python scripts/seed_demo.py --gateway http://127.0.0.1:8000 --admin-token "$PLATFORM_ADMIN_TOKEN" \
  --key-file "$RUN/demo-api-key" --owner-file "$RUN/demo-owner"

cat <<TXT

Qunyun is running.
  Gateway:   http://127.0.0.1:8000/api/v1/
  API docs:  http://127.0.0.1:8000/docs (gateway); per service: member :8001/docs, content :8002/docs,
             campaign :8003/docs, analytics :8004/docs (all routes reachable through the gateway's /api/v1/)
  Demo key:  $(cat "$RUN/demo-api-key")   (send as: Authorization: Bearer <key>)
  Sign in:   $(sed -n 1p "$RUN/demo-owner") / $(sed -n 2p "$RUN/demo-owner")   (the demo brand's owner: POST /api/v1/auth/login)
  Logs:      $RUN/logs/   Stop with: make stop
TXT
