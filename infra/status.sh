#!/usr/bin/env bash
set -uo pipefail
dir="$(dirname "$0")"
bash "$dir/kafka.sh" status; bash "$dir/secantus.sh" status
