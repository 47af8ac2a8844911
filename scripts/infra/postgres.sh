#!/usr/bin/env bash
# Private PostgreSQL 15 cluster for dev, tests and CI (not the distro's "main" cluster).
# Usage: scripts/infra/postgres.sh start|stop|status|createdb NAME|dropdb NAME|sql STATEMENT
# QUNYUN_PG_DIR and QUNYUN_PG_PORT run another cluster of its own, as the fault tests do.
set -euo pipefail

PGDIR="${QUNYUN_PG_DIR:-/var/tmp/qunyun-pg}" # outside the repo: the repo may sit in a 0700 root-owned tmp dir the postgres user cannot enter
PORT="${QUNYUN_PG_PORT:-55432}"
DATA="$PGDIR/data"
LOG="$PGDIR/postgres.log"
APP_ROLE=qunyun

die() { echo "postgres: $*" >&2; exit 1; }

# initdb/postgres refuse to run as root; as non-root (e.g. a CI runner user) the
# current user owns the cluster and is its superuser.
if ((EUID == 0)); then SUPER=postgres; SUDO=""; else SUPER="$(id -un)"; SUDO=sudo; fi
as_pg() {
  # cd /: the caller's cwd may be unreadable for the postgres user.
  if ((EUID == 0)); then (cd / && runuser -u postgres -- "$@"); else (cd / && "$@"); fi
}

find_bin() {
  local d
  for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    [[ -x "$d/postgres" ]] && { echo "$d"; return 0; }
  done
  return 1
}

ensure_bin() {
  PGBIN="$(find_bin)" && return 0
  # Stop the Debian package from creating and starting its own cluster on 5432.
  $SUDO mkdir -p /etc/postgresql-common
  echo "create_main_cluster = false" | $SUDO tee -a /etc/postgresql-common/createcluster.conf >/dev/null
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null
  PGBIN="$(find_bin)" || die "no postgres binary after installing postgresql-15"
}

psql_super() { as_pg env PGOPTIONS="-c client_min_messages=warning" "$PGBIN/psql" -h "$PGDIR" -p "$PORT" -U "$SUPER" -d postgres -X -q -At -v ON_ERROR_STOP=1 "$@"; }

is_running() { [[ -f "$DATA/PG_VERSION" ]] && as_pg "$PGBIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1; }

cmd_start() {
  ensure_bin
  if ((EUID == 0)); then id postgres >/dev/null 2>&1 || die "no postgres OS user"; fi
  mkdir -p "$PGDIR"
  ((EUID == 0)) && chown postgres: "$PGDIR"
  chmod 700 "$PGDIR"
  if [[ ! -f "$DATA/PG_VERSION" ]]; then
    # C locale: identical collation everywhere (tests must not depend on the host's locale).
    as_pg "$PGBIN/initdb" -D "$DATA" -U "$SUPER" -E UTF8 --locale=C \
      --auth-local=peer --auth-host=scram-sha-256 >"$PGDIR/initdb.log"
    echo "include_if_exists = 'qunyun.conf'" | as_pg tee -a "$DATA/postgresql.conf" >/dev/null
  fi
  # Rewritten on every start so port/dir overrides from the environment take effect.
  # fsync/synchronous_commit stay on: this is a real database, benchmarks must be honest.
  as_pg tee "$DATA/qunyun.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$PGDIR'
max_connections = 200
shared_buffers = 256MB
work_mem = 8MB
max_wal_size = 2GB
password_encryption = 'scram-sha-256'
log_min_duration_statement = 1000
EOF
  if is_running; then
    echo "postgres already running"
  else
    as_pg "$PGBIN/pg_ctl" start -D "$DATA" -l "$LOG" -w -t 60 >/dev/null ||
      { tail -n 30 "$LOG" >&2; die "failed to start"; }
  fi
  local deadline=$((SECONDS + 60))
  until "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; do
    ((SECONDS < deadline)) || { tail -n 30 "$LOG" >&2; die "not ready after 60 s"; }
    sleep 0.5
  done
  # Checked on every start, not only after initdb: an init interrupted before
  # this point would otherwise leave a cluster without the app role forever.
  psql_super <<SQL
SELECT 'CREATE ROLE $APP_ROLE LOGIN CREATEDB CREATEROLE PASSWORD ''$APP_ROLE'''
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$APP_ROLE')\gexec
-- The tests' admin role: it gives each service database of a session a login role of its own
-- (tests/support/harness.py), so it creates roles; services never connect as it.
ALTER ROLE $APP_ROLE CREATEDB CREATEROLE;
SQL
  echo "postgres ready on 127.0.0.1:$PORT"
}

cmd_stop() {
  ensure_bin
  if is_running; then as_pg "$PGBIN/pg_ctl" stop -D "$DATA" -m fast -w >/dev/null; echo "postgres stopped"
  else echo "postgres not running"; fi
}

cmd_status() {
  ensure_bin
  if is_running; then echo "postgres running on 127.0.0.1:$PORT"; else echo "postgres not running"; return 1; fi
}

check_name() {
  [[ "${1:-}" =~ ^[A-Za-z_][A-Za-z0-9_]{0,62}$ ]] || die "invalid database name '${1:-}'"
}

cmd_createdb() {
  check_name "${1:-}"; ensure_bin
  # A database owned by a login role of the same name, which nobody else may connect to: a service's
  # own credentials, as in compose and Kubernetes. A fresh password on every call; prints the URL.
  local password
  password="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  psql_super -v name="$1" -v password="$password" <<'SQL' >/dev/null
SELECT format('CREATE ROLE %I LOGIN', :'name')
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'name')\gexec
SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'name', :'password')\gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name')
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name')\gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'name')\gexec
SQL
  echo "postgresql+asyncpg://$1:$password@127.0.0.1:$PORT/$1"
}

cmd_dropdb() {
  check_name "${1:-}"; ensure_bin
  # FORCE: tests drop databases while pooled connections from a crashed run may linger.
  psql_super -v name="$1" <<'SQL'
SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', :'name')\gexec
SELECT format('DROP ROLE IF EXISTS %I', :'name')\gexec
SQL
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  createdb) cmd_createdb "${2:-}" ;;
  dropdb) cmd_dropdb "${2:-}" ;;
  sql) ensure_bin; psql_super -c "${2:?a statement}" ;; # as the superuser, as the fault tests act on a cluster
  *) echo "usage: $0 start|stop|status|createdb NAME|dropdb NAME|sql STATEMENT" >&2; exit 2 ;;
esac
