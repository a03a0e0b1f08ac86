#!/usr/bin/env bash
# Generates Python messages, stubs and type hints for every proto under protos/ into libs/park-protos.
set -euo pipefail
cd "$(dirname "$0")/.."
out=libs/park-protos
find "$out/park" -name '*_pb2*.py*' -delete 2>/dev/null || true
mapfile -t files < <(find protos -name '*.proto' | sort)
.venv/bin/python -m grpc_tools.protoc -I protos \
  --python_out="$out" --grpc_python_out="$out" --pyi_out="$out" "${files[@]}"
echo "generated ${#files[@]} proto files into $out"
