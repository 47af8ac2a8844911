#!/usr/bin/env bash
# Throwaway Redis for dev, tests and CI.  Usage: scripts/infra/redis.sh start|stop|status
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PORT="${QUNYUN_REDIS_PORT:-6379}"
DIR="$ROOT/.cache/redis"
PIDFILE="$DIR/redis.pid"

die() { echo "redis: $*" >&2; exit 1; }
SUDO=""; ((EUID == 0)) || SUDO=sudo

ensure_bin() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
  # policy-rc.d 101 keeps the package from starting its own service on 6379,
  # which would then collide with ours.
  local policy=/usr/sbin/policy-rc.d created=""
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee $policy >/dev/null && $SUDO chmod +x $policy && created=1
  fi
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null || { [[ -n $created ]] && $SUDO rm -f $policy; die "apt-get install failed"; }
  [[ -n $created ]] && $SUDO rm -f $policy
  command -v redis-server >/dev/null || die "redis-server still missing"
}

# Compare the pid's executable too: a stale pid file may point at a reused pid.
running_pid() {
  local pid
  [[ -f "$PIDFILE" ]] || return 1
  pid="$(cat "$PIDFILE")"
  [[ -n "$pid" ]] && grep -qa 'redis-server' "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

ping() { [[ "$(redis-cli -h 127.0.0.1 -p "$PORT" ping 2>/dev/null)" == PONG ]]; }

cmd_start() {
  ensure_bin
  mkdir -p "$DIR"
  if running_pid >/dev/null; then
    echo "redis already running"
  else
    rm -f "$PIDFILE"
    # Cache/queue only: persistence would just slow tests and leave stale state around.
    cat >"$DIR/redis.conf" <<EOF
bind 127.0.0.1
port $PORT
daemonize yes
pidfile $PIDFILE
logfile $DIR/redis.log
dir $DIR
save ""
appendonly no
EOF
    redis-server "$DIR/redis.conf"
  fi
  local deadline=$((SECONDS + 30))
  until ping; do
    ((SECONDS < deadline)) || { tail -n 20 "$DIR/redis.log" >&2; die "no PONG after 30 s"; }
    sleep 0.2
  done
  echo "redis ready on 127.0.0.1:$PORT"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then rm -f "$PIDFILE"; echo "redis not running"; return 0; fi
  kill -TERM "$pid"
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  rm -f "$PIDFILE"
  echo "redis stopped"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then echo "redis running (pid $pid) on 127.0.0.1:$PORT"; else echo "redis not running"; return 1; fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
