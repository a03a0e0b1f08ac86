#!/usr/bin/env bash
# SecantusDB, a MongoDB wire-protocol server (GPL-2.0), in its own virtualenv and its own process.
# Project code only talks to it over the wire; it is never imported.
#   infra/secantus.sh up | down | kill | status
set -euo pipefail
source "$(dirname "$0")/env.sh"
home="$INFRA_DIR/secantus"
venv="$home/venv"
pidfile="$home/secantus.pid"

install() {
  [ -x "$venv/bin/secantusd-py" ] && return
  mkdir -p "$home"
  command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  uv venv --quiet --python "${PARKOS_PYTHON:-python3.11}" "$venv"
  uv pip install --quiet --python "$venv/bin/python" "secantusdb==$SECANTUS_VERSION"
}

up() {
  if pid_alive "$pidfile"; then echo "secantus: already running (pid $(cat "$pidfile"), port $MONGO_PORT)"; return; fi
  if port_open "$MONGO_PORT"; then echo "secantus: port $MONGO_PORT is taken by another process" >&2; exit 1; fi
  install
  mkdir -p "$home/data"
  # infra/secantus/sitecustomize.py tunes the store's garbage collector (see its docstring);
  # PARKOS_SECANTUS_DEFAULT_GC=1 leaves CPython's default, the baseline of bench/store_pauses.py
  local site="$ROOT/infra/secantus"
  [ "${PARKOS_SECANTUS_DEFAULT_GC:-0}" = 1 ] && site=""
  PYTHONPATH="$site" setsid nohup "$venv/bin/secantusd-py" --host 127.0.0.1 --port "$MONGO_PORT" --storage-path "$home/data" \
    --cache-size "$MONGO_CACHE" --log-level WARNING >"$home/secantus.log" 2>&1 < /dev/null &
  echo $! > "$pidfile"
  "$PY" "$ROOT/infra/wait_ready.py" mongo "mongodb://127.0.0.1:$MONGO_PORT/?directConnection=true" --timeout 60 || {
    echo "secantus: not ready; last log lines:" >&2; tail -20 "$home/secantus.log" >&2; exit 1; }
  echo "secantus: ready on 127.0.0.1:$MONGO_PORT (pid $(cat "$pidfile"))"
}

stop() {
  local signal=$1
  if pid_alive "$pidfile"; then
    local pid; pid=$(cat "$pidfile")
    kill "-$signal" "$pid"
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    echo "secantus: stopped"
  else
    echo "secantus: not running"
  fi
  rm -f "$pidfile"
}

status() {
  if pid_alive "$pidfile"; then echo "secantus: running (pid $(cat "$pidfile"), 127.0.0.1:$MONGO_PORT)"; else echo "secantus: stopped"; return 1; fi
}

case "${1:-}" in
  up) up ;;
  down) stop TERM ;;
  kill) stop KILL ;;
  status) status ;;
  *) echo "usage: $0 up|down|kill|status" >&2; exit 2 ;;
esac
