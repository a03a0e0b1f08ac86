#!/usr/bin/env bash
# Starts the embedded local infrastructure (Kafka + SecantusDB) and the dev signing keys; idempotent.
set -euo pipefail
source "$(dirname "$0")/env.sh"
bash "$ROOT/infra/keys.sh"
bash "$ROOT/infra/secantus.sh" up &
secantus=$!
bash "$ROOT/infra/kafka.sh" up
wait "$secantus"
