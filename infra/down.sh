#!/usr/bin/env bash
# Stops the local infrastructure; data stays in .infra until `make clean`.
set -uo pipefail
dir="$(dirname "$0")"
bash "$dir/kafka.sh" down
bash "$dir/secantus.sh" down
