#!/usr/bin/env bash
# Development token-signing key pair (Ed25519): the tenants service signs, every service verifies.
# Production mounts its own keys (helm values) and points PARKOS_TOKEN_*_KEY_FILE at them.
set -euo pipefail
source "$(dirname "$0")/env.sh"
keys="$INFRA_DIR/keys"
[ -f "$keys/token-signing.pem" ] && exit 0
mkdir -p "$keys" && chmod 700 "$keys"
openssl genpkey -algorithm ed25519 -out "$keys/token-signing.pem" 2>/dev/null
openssl pkey -in "$keys/token-signing.pem" -pubout -out "$keys/token-verify.pem" 2>/dev/null
chmod 600 "$keys/token-signing.pem"
echo "keys: development signing keys in $keys"
