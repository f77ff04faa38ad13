#!/usr/bin/env bash
# Local single-node Apache Kafka (KRaft, broker+controller) for taskstream
# development and tests. The broker jars come from Maven Central via
# deploy/kafka/pom.xml and are cached outside the repo.
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
POM="$SCRIPT_DIR/pom.xml"
LOG4J_CONFIG="$SCRIPT_DIR/log4j2.properties"
PROBE="$SCRIPT_DIR/kafka_probe.py"

KAFKA_HOME="${TASKSTREAM_KAFKA_HOME:-$HOME/.cache/taskstream/kafka}"
LIB_DIR="${KAFKA_LIB_DIR:-$KAFKA_HOME/lib}"
DATA_DIR="${KAFKA_DATA_DIR:-$KAFKA_HOME/data}"
HOST="127.0.0.1"
PORT="${KAFKA_PORT:-9092}"
CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-9093}"
NUM_PARTITIONS="${KAFKA_NUM_PARTITIONS:-8}"
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
JVM_OPTS="${KAFKA_JVM_OPTS:--XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true}"
LOG_LEVEL="${KAFKA_LOG_LEVEL:-INFO}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"
JAVA="${JAVA:-java}"
MVN="${MVN:-mvn}"
PYTHON="${PYTHON:-python3}"

CONFIG_FILE="$DATA_DIR/server.properties"
LOG_DIRS="$DATA_DIR/kraft-logs"
LOG_FILE="$DATA_DIR/kafka.log"
PID_FILE="$DATA_DIR/kafka.pid"
CLUSTER_ID_FILE="$DATA_DIR/cluster.id"
FETCH_STAMP="$LIB_DIR/.taskstream-fetched"

usage() {
  cat <<EOF
Usage: $(basename "$0") start|stop|status|fetch [--help]

Runs a real single-node Apache Kafka 4.x broker (KRaft mode, no ZooKeeper)
on $HOST for taskstream development and tests.

Commands:
  fetch    Download the broker jars from Maven Central (via pom.xml) into the
           jar cache, unless already there. Idempotent; instant when cached.
  start    fetch, write the broker config, format storage on first start,
           launch the broker in the background and wait until it answers a
           Metadata request (timeout ${START_TIMEOUT}s). No-op if already running.
  stop     SIGTERM the broker, wait up to ${STOP_TIMEOUT}s, then SIGKILL. Exit 0
           if it was not running.
  status   Print whether the broker is running; exit 0 if running, 1 if not.

Environment (defaults in brackets):
  TASKSTREAM_KAFKA_HOME   cache root [\$HOME/.cache/taskstream/kafka]
  KAFKA_LIB_DIR           jar cache [\$TASKSTREAM_KAFKA_HOME/lib]
  KAFKA_DATA_DIR          config, data, log and pid file [\$TASKSTREAM_KAFKA_HOME/data]
  KAFKA_PORT              client (PLAINTEXT) port [9092]
  KAFKA_CONTROLLER_PORT   KRaft controller port [9093]
  KAFKA_NUM_PARTITIONS    default partitions for auto-created topics [8]
  KAFKA_HEAP_OPTS         JVM heap [-Xms256m -Xmx512m]
  KAFKA_JVM_OPTS          other JVM flags [G1, ExitOnOutOfMemoryError]
  KAFKA_LOG_LEVEL         root log level of the broker log [INFO]
  KAFKA_EXTRA_CONFIG      extra server.properties lines, appended verbatim
  KAFKA_START_TIMEOUT     seconds start waits for readiness [90]
  KAFKA_STOP_TIMEOUT      seconds stop waits before SIGKILL [30]

Files: broker log \$KAFKA_DATA_DIR/kafka.log (previous run: kafka.log.1),
pid \$KAFKA_DATA_DIR/kafka.pid, config \$KAFKA_DATA_DIR/server.properties.
Use a fresh KAFKA_DATA_DIR (and ports) for an isolated, empty broker.
EOF
}

log() { echo "kafka.sh: $*" >&2; }
die() { log "error: $*"; exit 1; }

# Serialise start/stop per data dir, and fetches per jar cache, across
# concurrent invocations (e.g. parallel test jobs) with flock. The lock fds are
# closed for the broker process so it never holds them.
lock_fd() {
  local fd="$1" lock_file="$2"
  mkdir -p "$(dirname "$lock_file")"
  eval "exec $fd>\"\$lock_file\""
  if command -v flock >/dev/null 2>&1; then
    flock "$fd"
  fi
}

pom_hash() { sha256sum "$POM" | cut -d' ' -f1; }

jars_fetched() {
  [[ -f "$FETCH_STAMP" ]] && [[ "$(cat "$FETCH_STAMP")" == "$(pom_hash)" ]]
}

do_fetch() {
  if jars_fetched; then
    return 0
  fi
  lock_fd 8 "$LIB_DIR.lock"
  if jars_fetched; then # another invocation fetched while we waited
    return 0
  fi
  command -v "$MVN" >/dev/null 2>&1 || die "maven ('$MVN') not found; install maven (apt-get install maven)"
  log "fetching Kafka jars from Maven Central into $LIB_DIR ..."
  local tmp="$LIB_DIR.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$(dirname "$LIB_DIR")"
  if ! "$MVN" -B -q -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
      -DoutputDirectory="$tmp" -DincludeScope=runtime >&2; then
    rm -rf "$tmp"
    die "mvn dependency:copy-dependencies failed"
  fi
  ls "$tmp"/kafka_2.13-*.jar >/dev/null 2>&1 || { rm -rf "$tmp"; die "no kafka_2.13 jar fetched"; }
  pom_hash >"$tmp/.taskstream-fetched"
  rm -rf "$LIB_DIR"
  mv "$tmp" "$LIB_DIR"
  log "fetched $(ls "$LIB_DIR"/*.jar | wc -l) jars ($(basename "$(ls "$LIB_DIR"/kafka_2.13-*.jar)"))"
}

# --- process helpers ---------------------------------------------------------

read_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  echo "$pid"
}

# True if $1 is alive and is our broker (guards against recycled pids).
is_broker_pid() {
  local pid="$1"
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'kafka\.Kafka' || return 1
  fi
  return 0
}

running_pid() {
  local pid
  pid="$(read_pid)" || return 1
  is_broker_pid "$pid" || return 1
  echo "$pid"
}

port_open() {
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

broker_ready() {
  "$PYTHON" "$PROBE" "$HOST" "$PORT" 3 >/dev/null 2>&1
}

classpath() { echo "$LIB_DIR/*"; }

java_log_opts() {
  echo "-Dlog4j2.configurationFile=$LOG4J_CONFIG -Dtaskstream.kafka.log.level=$LOG_LEVEL -Dkafka.logs.dir=$DATA_DIR"
}

# --- config and storage -------------------------------------------------------

write_config() {
  mkdir -p "$DATA_DIR" "$LOG_DIRS"
  cat >"$CONFIG_FILE" <<EOF
# Generated by deploy/kafka/kafka.sh on every start; edits are overwritten.
# Use KAFKA_EXTRA_CONFIG to add or override settings.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$PORT,CONTROLLER://$HOST:$CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$LOG_DIRS

num.partitions=$NUM_PARTITIONS
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true

offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=8
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0

num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
log.retention.hours=168
EOF
  if [[ -n "${KAFKA_EXTRA_CONFIG:-}" ]]; then
    printf '\n# KAFKA_EXTRA_CONFIG\n%s\n' "$KAFKA_EXTRA_CONFIG" >>"$CONFIG_FILE"
  fi
}

format_storage() {
  if [[ -f "$LOG_DIRS/meta.properties" ]]; then
    return 0
  fi
  local cluster_id
  if [[ -s "$CLUSTER_ID_FILE" ]]; then
    cluster_id="$(cat "$CLUSTER_ID_FILE")"
  else
    # Same format as kafka.tools.StorageTool random-uuid (a Kafka Uuid:
    # 16 random bytes, URL-safe base64 without padding, never starting with
    # '-'), made without starting a JVM.
    cluster_id="$("$PYTHON" -c '
import base64, os
while True:
    s = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
    if not s.startswith("-"):
        print(s)
        break
')"
    [[ -n "$cluster_id" ]] || die "could not generate a cluster id"
    echo "$cluster_id" >"$CLUSTER_ID_FILE"
  fi
  log "formatting storage in $LOG_DIRS (cluster id $cluster_id)"
  # shellcheck disable=SC2046
  "$JAVA" -XX:TieredStopAtLevel=1 -XX:+UseSerialGC $(java_log_opts) -cp "$(classpath)" kafka.tools.StorageTool format \
    --config "$CONFIG_FILE" --cluster-id "$cluster_id" --ignore-formatted >>"$LOG_FILE" 2>&1 \
    || { tail -n 30 "$LOG_FILE" >&2; die "storage format failed (see $LOG_FILE)"; }
}

# --- commands -----------------------------------------------------------------

wait_ready() {
  local pid="$1" deadline=$((SECONDS + START_TIMEOUT))
  while ((SECONDS < deadline)); do
    if ! is_broker_pid "$pid"; then
      log "broker process $pid exited during startup; last log lines:"
      tail -n 40 "$LOG_FILE" >&2 || true
      rm -f "$PID_FILE"
      return 1
    fi
    if port_open "$PORT" && broker_ready; then
      return 0
    fi
    sleep 0.5
  done
  log "broker not ready after ${START_TIMEOUT}s; last log lines:"
  tail -n 40 "$LOG_FILE" >&2 || true
  return 1
}

start_locked() {
  local pid started=$SECONDS
  if pid="$(running_pid)"; then
    # Normally ready at once; waits if it is still starting up.
    wait_ready "$pid" || die "broker (pid $pid) is running but not ready"
    echo "Kafka already running (pid $pid) on $HOST:$PORT"
    return 0
  fi
  rm -f "$PID_FILE"

  command -v "$JAVA" >/dev/null 2>&1 || die "java not found (need a JDK 17+)"
  command -v "$PYTHON" >/dev/null 2>&1 || die "python3 not found (needed for the readiness probe)"
  if port_open "$PORT"; then
    die "port $HOST:$PORT is already in use by another process (set KAFKA_PORT)"
  fi
  if port_open "$CONTROLLER_PORT"; then
    die "port $HOST:$CONTROLLER_PORT is already in use by another process (set KAFKA_CONTROLLER_PORT)"
  fi

  do_fetch
  write_config
  if [[ -f "$LOG_FILE" ]]; then
    mv -f "$LOG_FILE" "$LOG_FILE.1"
  fi
  format_storage

  log "starting Kafka on $HOST:$PORT (data dir $DATA_DIR, log $LOG_FILE)"
  # The inner shell records its own pid and then execs java, so the pid file
  # holds the JVM's pid; setsid detaches the broker from our session.
  # shellcheck disable=SC2086,SC2016
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$PID_FILE" \
    "$JAVA" $HEAP_OPTS $JVM_OPTS $(java_log_opts) -cp "$(classpath)" kafka.Kafka "$CONFIG_FILE" \
    </dev/null >>"$LOG_FILE" 2>&1 8>&- 9>&- &
  local i
  for i in $(seq 1 50); do
    pid="$(read_pid)" && break
    sleep 0.1
  done
  [[ -n "${pid:-}" ]] || die "broker did not write its pid file $PID_FILE"

  if ! wait_ready "$pid"; then
    log "stopping the broker that failed to become ready"
    stop_locked >/dev/null 2>&1 || true
    die "Kafka failed to start"
  fi
  echo "Kafka started (pid $pid) on $HOST:$PORT in $((SECONDS - started))s"
}

stop_locked() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$PID_FILE"
    echo "Kafka not running"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "broker (pid $pid) did not exit within ${STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$PID_FILE"
  echo "Kafka stopped (pid $pid)"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    if broker_ready; then
      echo "Kafka running (pid $pid) on $HOST:$PORT"
    else
      echo "Kafka running (pid $pid) on $HOST:$PORT, not ready yet"
    fi
    return 0
  fi
  echo "Kafka not running"
  return 1
}

main() {
  local cmd="${1:-}"
  case "$cmd" in
    -h | --help | help)
      usage
      ;;
    fetch)
      do_fetch
      ;;
    start)
      lock_fd 9 "$DATA_DIR/.kafka.lock"
      start_locked
      ;;
    stop)
      lock_fd 9 "$DATA_DIR/.kafka.lock"
      stop_locked
      ;;
    status)
      cmd_status
      ;;
    "")
      usage >&2
      exit 2
      ;;
    *)
      log "unknown command: $cmd"
      usage >&2
      exit 2
      ;;
  esac
}

main "$@"
