#!/usr/bin/env bash
# Apache Kafka 4.x, KRaft, one node on loopback. Jars come from Maven Central via infra/kafka/pom.xml.
#   infra/kafka.sh up | down | kill | status
set -euo pipefail
source "$(dirname "$0")/env.sh"
home="$INFRA_DIR/kafka"
pidfile="$home/kafka.pid"

resolve_jars() {
  [ -f "$home/libs/.complete" ] && return
  mkdir -p "$home/libs"
  echo "kafka: resolving broker jars with Maven"
  mvn -q -B -f "$ROOT/infra/kafka/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$home/libs" -DincludeScope=runtime
  touch "$home/libs/.complete"
}

format_storage() {
  [ -f "$home/data/meta.properties" ] && return
  mkdir -p "$home/data" "$home/logs"
  local cluster_id
  cluster_id=$(java -cp "$home/libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null | tail -1)
  java -Dlog4j2.configurationFile="$ROOT/infra/kafka/log4j2.properties" -Dkafka.logs.dir="$home/logs" \
    -cp "$home/libs/*" kafka.tools.StorageTool format -t "$cluster_id" -c "$home/server.properties" >/dev/null
}

render_config() {
  mkdir -p "$home/data" "$home/logs"
  sed -e "s|\${KAFKA_PORT}|$KAFKA_PORT|g" -e "s|\${KAFKA_CONTROLLER_PORT}|$KAFKA_CONTROLLER_PORT|g" \
    -e "s|\${KAFKA_DATA}|$home/data|g" "$ROOT/infra/kafka/server.properties.template" > "$home/server.properties"
}

up() {
  if pid_alive "$pidfile"; then echo "kafka: already running (pid $(cat "$pidfile"), port $KAFKA_PORT)"; return; fi
  if port_open "$KAFKA_PORT"; then echo "kafka: port $KAFKA_PORT is taken by another process" >&2; exit 1; fi
  resolve_jars
  render_config
  format_storage
  setsid nohup java -Xms256m -Xmx"$KAFKA_HEAP" -XX:+UseG1GC \
    -Dlog4j2.configurationFile="$ROOT/infra/kafka/log4j2.properties" -Dkafka.logs.dir="$home/logs" \
    -cp "$home/libs/*" kafka.Kafka "$home/server.properties" >"$home/logs/stdout.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  "$PY" "$ROOT/infra/wait_ready.py" kafka "127.0.0.1:$KAFKA_PORT" --timeout 90 || {
    echo "kafka: not ready; last log lines:" >&2; tail -20 "$home/logs/server.log" >&2 || true; exit 1; }
  echo "kafka: ready on 127.0.0.1:$KAFKA_PORT (pid $(cat "$pidfile"))"
}

stop() {
  local signal=$1
  if pid_alive "$pidfile"; then
    local pid; pid=$(cat "$pidfile")
    kill "-$signal" "$pid"
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "kafka: stopped"
  else
    echo "kafka: not running"
  fi
  rm -f "$pidfile"
}

status() {
  if pid_alive "$pidfile"; then echo "kafka: running (pid $(cat "$pidfile"), 127.0.0.1:$KAFKA_PORT)"; else echo "kafka: stopped"; return 1; fi
}

case "${1:-}" in
  up) up ;;
  down) stop TERM ;;
  kill) stop KILL ;;
  status) status ;;
  *) echo "usage: $0 up|down|kill|status" >&2; exit 2 ;;
esac
