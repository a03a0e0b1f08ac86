#!/usr/bin/env bash
# Creates .venv from requirements.lock (pinned) and installs the workspace's own packages editable.
set -euo pipefail
cd "$(dirname "$0")/.."
UV_VERSION=0.13.9
export UV_PYTHON_DOWNLOADS=never
if ! command -v uv >/dev/null 2>&1 || [ "$(uv --version | awk '{print $2}')" != "$UV_VERSION" ]; then
  python3 -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
PYTHON=${PARKOS_PYTHON:-python3.11}
[ -x .venv/bin/python ] || uv venv --quiet --python "$PYTHON" .venv
uv pip install --quiet --python .venv/bin/python -r requirements.lock
editable=()
for member in libs/* tools/*; do
  [ -f "$member/pyproject.toml" ] && editable+=(-e "$member")
done
uv pip install --quiet --python .venv/bin/python --no-deps --no-sources "${editable[@]}"
echo "python environment ready: .venv ($(.venv/bin/python --version))"
