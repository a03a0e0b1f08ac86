#!/usr/bin/env bash
# SecantusDB, a MongoDB wire-protocol server on WiredTiger (GPL-2.0), as its own process.
# Project code only talks to it over the wire; it is never imported or linked.
#   infra/secantus.sh up | down | kill | status
#
# Two builds of the same server (the same commands, flags and wire protocol):
# - python (the default): `secantusd-py` from PyPI (secantusdb) in its own virtualenv;
# - rust: `secantusd-rs`, SecantusDB's Rust server, built once from crates.io (secantus-mdb)
#   with the Rust toolchain it asks for, into .infra/secantus/rs (~9 minutes on two cores).
#   Several times faster, but a transaction left open anywhere in the store (its client
#   SIGKILLed) holds back every change stream's later events until the store aborts it:
#   up to a minute, which `up` shortens to SECANTUS_RS_TXN_LIFETIME seconds. Not the default
#   (README, "Local infrastructure").
# PARKOS_SECANTUS_SERVER=python|rust chooses. Each keeps its own data directory
# (data-python, data-rust): their files are not shared.
set -euo pipefail
source "$(dirname "$0")/env.sh"
home="$INFRA_DIR/secantus"
venv="$home/venv"
rs_root="$home/rs"
pidfile="$home/secantus.pid"
kindfile="$home/secantus.kind"

install_python() {
  [ -x "$venv/bin/secantusd-py" ] && return
  mkdir -p "$home"
  command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
  uv venv --quiet --python "${PARKOS_PYTHON:-python3.11}" "$venv"
  uv pip install --quiet --python "$venv/bin/python" "secantusdb==$SECANTUS_VERSION"
}

install_rust() {
  local stamp="$rs_root/.version"
  [ -x "$rs_root/bin/secantusd-rs" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$SECANTUS_RS_VERSION" ] && return
  command -v cargo >/dev/null 2>&1 || { echo "secantus: cargo not found" >&2; return 1; }
  mkdir -p "$rs_root"
  echo "secantus: building secantusd-rs $SECANTUS_RS_VERSION from crates.io (once; log: $home/build.log)"
  if command -v rustup >/dev/null 2>&1; then
    rustup toolchain install "$SECANTUS_RS_TOOLCHAIN" --profile minimal >"$home/build.log" 2>&1 || {
      echo "secantus: Rust $SECANTUS_RS_TOOLCHAIN could not be installed" >&2; tail -5 "$home/build.log" >&2; return 1; }
  fi
  # thin LTO with one codegen unit (the crate's release profile) doubles the build on two
  # cores for a server whose time goes to WiredTiger and the wire; plain release is kept
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    cargo "+$SECANTUS_RS_TOOLCHAIN" install secantus-mdb --version "$SECANTUS_RS_VERSION" --locked \
    --root "$rs_root" >>"$home/build.log" 2>&1 || {
      echo "secantus: building secantusd-rs failed" >&2; tail -20 "$home/build.log" >&2; return 1; }
  echo "$SECANTUS_RS_VERSION" > "$stamp"
}

# Echoes the server to run (python|rust), installing it first.
install() {
  case "${PARKOS_SECANTUS_SERVER:-python}" in
    python) install_python >&2 || return 1; echo python ;;
    rust) install_rust >&2 || return 1; echo rust ;;
    *) echo "secantus: PARKOS_SECANTUS_SERVER must be python or rust" >&2; return 2 ;;
  esac
}

up() {
  if pid_alive "$pidfile"; then echo "secantus: already running (pid $(cat "$pidfile"), port $MONGO_PORT, $(cat "$kindfile" 2>/dev/null))"; return; fi
  if port_open "$MONGO_PORT"; then echo "secantus: port $MONGO_PORT is taken by another process" >&2; exit 1; fi
  local kind; kind=$(install) || exit 1
  local data="$home/data-$kind"
  mkdir -p "$data"
  local args=(--host 127.0.0.1 --port "$MONGO_PORT" --storage-path "$data" --cache-size "$MONGO_CACHE" --log-level WARNING)
  if [ "$kind" = rust ]; then
    setsid nohup "$rs_root/bin/secantusd-rs" "${args[@]}" >"$home/secantus.log" 2>&1 < /dev/null &
  else
    # infra/secantus/sitecustomize.py tunes the Python server's garbage collector (see its
    # docstring); PARKOS_SECANTUS_DEFAULT_GC=1 leaves CPython's default (bench/store_pauses.py)
    local site="$ROOT/infra/secantus"
    [ "${PARKOS_SECANTUS_DEFAULT_GC:-0}" = 1 ] && site=""
    PYTHONPATH="$site" setsid nohup "$venv/bin/secantusd-py" "${args[@]}" >"$home/secantus.log" 2>&1 < /dev/null &
  fi
  echo $! > "$pidfile"
  echo "$kind" > "$kindfile"
  "$PY" "$ROOT/infra/wait_ready.py" mongo "mongodb://127.0.0.1:$MONGO_PORT/?directConnection=true" --timeout 60 || {
    echo "secantus: not ready; last log lines:" >&2; tail -20 "$home/secantus.log" >&2; exit 1; }
  [ "$kind" = rust ] && { shorten_transaction_lifetime || exit 1; }
  echo "secantus: ready on 127.0.0.1:$MONGO_PORT (pid $(cat "$pidfile"), $kind server)"
}

# The Rust server keeps every change stream from passing a transaction still open: one left by a
# killed client would stall every outbox relay until the store aborts it. The setting does not
# survive a restart, so it is made at every start.
shorten_transaction_lifetime() {
  "$PY" - "mongodb://127.0.0.1:$MONGO_PORT/?directConnection=true" "$SECANTUS_RS_TXN_LIFETIME" <<'PYTHON'
import sys
from pymongo import MongoClient

with MongoClient(sys.argv[1], serverSelectionTimeoutMS=5000) as client:
    client.admin.command("setParameter", 1, transactionLifetimeLimitSeconds=int(sys.argv[2]))
PYTHON
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
  if pid_alive "$pidfile"; then
    echo "secantus: running (pid $(cat "$pidfile"), 127.0.0.1:$MONGO_PORT, $(cat "$kindfile" 2>/dev/null) server)"
  else echo "secantus: stopped"; return 1; fi
}

case "${1:-}" in
  up) up ;;
  down) stop TERM ;;
  kill) stop KILL ;;
  status) status ;;
  *) echo "usage: $0 up|down|kill|status" >&2; exit 2 ;;
esac
