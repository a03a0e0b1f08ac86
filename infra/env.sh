# Shared settings for the local infrastructure scripts; every value can be overridden from the environment.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
INFRA_DIR="${PARKOS_INFRA_DIR:-$ROOT/.infra}"
KAFKA_PORT="${PARKOS_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${PARKOS_KAFKA_CONTROLLER_PORT:-19093}"
KAFKA_HEAP="${PARKOS_KAFKA_HEAP:-1g}"
MONGO_PORT="${PARKOS_MONGO_PORT:-27117}"
MONGO_CACHE="${PARKOS_MONGO_CACHE:-512M}"
SECANTUS_VERSION="0.7.0b3"            # the Python server, from PyPI
SECANTUS_RS_VERSION="0.5.3-beta.196"  # the Rust server, crate secantus-mdb on crates.io
SECANTUS_RS_TOOLCHAIN="1.98"          # the Rust version that crate asks for (rust-version)
# Rust server only: seconds an idle transaction lives before the store aborts it (mongod's 60 s
# otherwise). There a transaction still open holds back every change stream (README).
SECANTUS_RS_TXN_LIFETIME="${PARKOS_SECANTUS_TXN_LIFETIME_SECONDS:-10}"
UV_VERSION="0.13.9"
PY="$ROOT/.venv/bin/python"
export UV_PYTHON_DOWNLOADS=never

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
