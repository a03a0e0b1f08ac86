#!/usr/bin/env bash
# `make run`: the infrastructure, every service that exists, and the simulator's live view.
# Services log to .infra/logs/<service>.log; Ctrl-C stops the services (the infrastructure
# stays up for the next run: `make infra-down` stops it).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash infra/up.sh

logs="$INFRA_DIR/logs"
mkdir -p "$logs"
keys="$INFRA_DIR/keys"
export PARKOS_TOKEN_PUBLIC_KEY_FILE="$keys/token-verify.pem"
# service  gRPC port  metrics port  (in start order: tenants issues the tokens everyone verifies)
SERVICES=(
  "tenants 50051 9101"
  "trades 50052 9102"
  "compute 50053 9103"
  "credit 50054 9104"
  "analytics 50055 9105"
)
pids=()

stop_services() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "services stopped (infrastructure still up: make infra-down)"
}
# The simulator runs in the background so that a signal to this script (Ctrl-C, or a plain
# `kill`) is handled at once: bash would run its traps only after a foreground child ended.
simulator=""
stop_park() {
  if [ -n "$simulator" ]; then kill -TERM "$simulator" 2>/dev/null || true; wait "$simulator" 2>/dev/null || true; fi
  stop_services
}
trap stop_park EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_service() {
  local name=$1 port=$2 metrics=$3 signing=()
  # only the issuer of tokens holds the signing key
  [ "$name" = tenants ] && signing=(PARKOS_TOKEN_PRIVATE_KEY_FILE="$keys/token-signing.pem")
  env "${signing[@]}" PARKOS_GRPC_PORT="$port" PARKOS_METRICS_PORT="$metrics" \
    "$PY" -m "services.$name.main" >>"$logs/$name.log" 2>&1 &
  pids+=($!)
  if [ -f "services/$name/worker.py" ]; then
    "$PY" -m "services.$name.worker" >>"$logs/$name-worker.log" 2>&1 &
    pids+=($!)
  fi
  "$PY" infra/wait_ready.py grpc "127.0.0.1:$port" --timeout 60 || {
    echo "$name did not become ready; see $logs/$name.log" >&2; tail -20 "$logs/$name.log" >&2; exit 1; }
  echo "$name: serving on 127.0.0.1:$port (metrics :$metrics, log $logs/$name.log)"
}

targets=()
for entry in "${SERVICES[@]}"; do
  read -r name port metrics <<<"$entry"
  if [ -f "services/$name/main.py" ]; then
    start_service "$name" "$port" "$metrics"
    targets+=("--$name-target" "127.0.0.1:$port")
  fi
done

echo "admin token for parkctl:  export PARKCTL_TOKEN=\$(.venv/bin/parkctl auth admin-token --signing-key $keys/token-signing.pem)"
"$ROOT/.venv/bin/parksim" run --signing-key "$keys/token-signing.pem" "${targets[@]}" ${PARKSIM_ARGS:-} &
simulator=$!
wait "$simulator"
simulator=""
