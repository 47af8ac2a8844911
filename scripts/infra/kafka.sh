#!/usr/bin/env bash
# Single-node Kafka (KRaft, no ZooKeeper) for dev, tests and CI.
# Usage: scripts/infra/kafka.sh install|start|stop|kill|status|wait|create-topics
# QUNYUN_KAFKA_DIR (with KAFKA_PORT, KAFKA_CONTROLLER_PORT) runs another broker of its own, as the fault tests do.
# Kafka comes from Maven Central (not the tarball site) because CI/dev boxes
# may only reach package registries; it is a plain JVM classpath, no Docker.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
HOME_DIR="${QUNYUN_KAFKA_DIR:-$ROOT/.cache/kafka}"
LIB="$ROOT/.cache/kafka/lib" # the jars, shared by every broker
CONF="$HOME_DIR/config"
DATA="$HOME_DIR/data"
PIDFILE="$HOME_DIR/kafka.pid"
LOGDIR="$HOME_DIR/logs"
LOG="$LOGDIR/kafka.log"              # JVM stdout/stderr (crashes, early failures)
SERVER_LOG="$LOGDIR/kafka-server.log" # log4j output of the broker
BOOTSTRAP="127.0.0.1:$KAFKA_PORT"

die() { echo "kafka: $*" >&2; exit 1; }

# A fresh CI image may lack the JDK/Maven; Debian packages are reachable there.
ensure_tools() {
  local missing=()
  command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
  command -v mvn >/dev/null || missing+=(maven)
  if ((${#missing[@]})); then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# Tools get their own log4j config so their chatter goes to stderr at WARN
# instead of interleaving with the broker's log file.
run_tool() {
  java -Xmx256m -cp "$LIB/*" -Dlog4j.configuration="file:$CONF/tools-log4j.properties" "$@"
}

write_log4j() {
  mkdir -p "$CONF" "$LOGDIR"
  # Rolling + size-capped: benchmarks can produce a lot of request logging.
  cat >"$CONF/log4j.properties" <<EOF
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$SERVER_LOG
log4j.appender.file.MaxFileSize=50MB
log4j.appender.file.MaxBackupIndex=2
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.org.apache.kafka.controller=INFO
log4j.logger.state.change.logger=WARN
EOF
  cat >"$CONF/tools-log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

cmd_install() {
  write_log4j
  if ls "$LIB"/kafka_2.13-*.jar >/dev/null 2>&1; then return 0; fi
  ensure_tools
  # Resolve into a temp dir and rename: an interrupted install must not look "populated".
  rm -rf "$LIB.tmp"
  # Output captured: Debian's Maven 3.8 prints stray ANSI codes even with -B -q;
  # it is only worth showing when resolution fails.
  local out
  if ! out="$(mvn -B -q -f "$ROOT/scripts/infra/kafka-pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$LIB.tmp" -DincludeScope=runtime 2>&1)"; then
    echo "$out" >&2; die "maven resolution failed"
  fi
  mv "$LIB.tmp" "$LIB"
}

# pid file alone is not proof: after a reboot/kill the pid may belong to something else.
running_pid() {
  local pid
  [[ -f "$PIDFILE" ]] || return 1
  pid="$(cat "$PIDFILE")"
  [[ -n "$pid" ]] && grep -qa 'kafka.Kafka' "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

write_server_properties() {
  cat >"$CONF/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$DATA
num.partitions=6
# Topics are created explicitly by the platform; typos must fail, not create topics.
auto.create.topics.enable=false
# Single node: anything above 1 would make internal topics unavailable.
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
min.insync.replicas=1
# Tests start consumers constantly; the default 3 s join delay dominates test time.
group.initial.rebalance.delay.ms=0
# The platform rebuilds state by replaying topics from offset zero: never delete.
log.retention.ms=-1
EOF
}

cmd_start() {
  local pid
  cmd_install
  if pid="$(running_pid)"; then echo "kafka already running (pid $pid)"; cmd_wait; return; fi
  rm -f "$PIDFILE"
  mkdir -p "$DATA" "$LOGDIR"
  write_server_properties
  # Cluster id must stay stable across restarts, or the formatted log dir is rejected.
  [[ -s "$HOME_DIR/cluster-id" ]] || run_tool kafka.tools.StorageTool random-uuid >"$HOME_DIR/cluster-id"
  if [[ ! -f "$DATA/meta.properties" ]]; then
    run_tool kafka.tools.StorageTool format -t "$(cat "$HOME_DIR/cluster-id")" \
      -c "$CONF/server.properties" >/dev/null
  fi
  # setsid: detach from the caller's process group so make/CI job control
  # (Ctrl-C, step teardown) does not take the broker down with it.
  setsid nohup java -Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true \
    -Dlog4j.configuration="file:$CONF/log4j.properties" \
    -cp "$LIB/*" kafka.Kafka "$CONF/server.properties" >>"$LOG" 2>&1 </dev/null &
  echo $! >"$PIDFILE"
  cmd_wait
}

tail_logs() {
  echo "---- $LOG" >&2; tail -n 20 "$LOG" >&2 2>/dev/null || true
  echo "---- $SERVER_LOG" >&2; tail -n 40 "$SERVER_LOG" >&2 2>/dev/null || true
}

cmd_wait() {
  local deadline=$((SECONDS + 90))
  while ((SECONDS < deadline)); do
    # kill -0, not running_pid: right after the fork the child may not have
    # exec'd java yet, so its cmdline does not say kafka.Kafka.
    [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null || { tail_logs; die "process is not running"; }
    # Cheap TCP probe first; then an ApiVersions round trip through the admin
    # client, which only succeeds once the broker is registered and unfenced.
    if (exec 3<>"/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null &&
       timeout 30 java -Xmx128m -cp "$LIB/*" -Dlog4j.configuration="file:$CONF/tools-log4j.properties" \
         kafka.admin.BrokerApiVersionsCommand --bootstrap-server "$BOOTSTRAP" >/dev/null 2>&1; then
      echo "kafka ready on $BOOTSTRAP"
      return 0
    fi
    sleep 1
  done
  tail_logs
  die "not ready after 90 s"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then rm -f "$PIDFILE"; echo "kafka not running"; return 0; fi
  kill -TERM "$pid"
  # Controlled shutdown flushes and writes a clean-shutdown marker, which keeps
  # the next start fast (no log recovery); SIGKILL only as a last resort.
  for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; sleep 1; fi
  rm -f "$PIDFILE"
  echo "kafka stopped"
}

# SIGKILL, no controlled shutdown: a crashed broker or a lost node, for the fault tests.
cmd_kill() {
  local pid
  if ! pid="$(running_pid)"; then rm -f "$PIDFILE"; echo "kafka not running"; return 0; fi
  kill -KILL "$pid"
  for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  rm -f "$PIDFILE"
  echo "kafka killed"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then echo "kafka running (pid $pid) on $BOOTSTRAP"; else echo "kafka not running"; return 1; fi
}

# The topics come from the event catalogue (one source of truth), so the platform's own module creates them.
cmd_create_topics() {
  KAFKA_BOOTSTRAP_SERVERS="$BOOTSTRAP" "$ROOT/.venv/bin/python" -m qunyun_shared.topics create
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  kill) cmd_kill ;;
  status) cmd_status ;;
  wait) cmd_wait ;;
  create-topics) cmd_create_topics ;;
  *) echo "usage: $0 install|start|stop|kill|status|wait|create-topics" >&2; exit 2 ;;
esac
