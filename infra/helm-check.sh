#!/usr/bin/env bash
# Renders and validates the deployment files, offline:
#   1. helm (pinned) is built with `go install` into .infra/bin unless that version is
#      already there or on PATH;
#   2. `helm lint --strict` of helm/park-os with the default values and with
#      helm/park-os/ci-values.yaml (every service, mTLS, network policies); the chart's
#      values.schema.json is enforced by both;
#   3. `helm template` of both into .infra/helm-check/, then every rendered object is
#      validated strictly (unknown fields are errors) against the Kubernetes OpenAPI
#      schemas of the oldest and newest Kubernetes the chart supports, with
#      kubernetes-validate (PyPI), which ships those schemas: kubeconform would fetch
#      its schemas from the network at run time, which CI does not have;
#   4. docker-compose.yml against the Compose Specification schema (check-jsonschema's
#      bundled copy), and with `docker compose config` too where the Compose plugin is
#      installed (it needs no Docker engine).
# tests/unit/test_helm_chart.py then checks what the chart must mean (probes, limits,
# keys); it finds helm where this script put it.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"

HELM_VERSION=v3.22.0
# helm's own Makefile stamps the default Kubernetes version from its client-go (v0.37 in
# helm v3.22.0's go.mod, i.e. Kubernetes 1.37) with -ldflags; a bare `go install`
# would leave 1.20 and refuse the chart's kubeVersion (>=1.27).
HELM_K8S_MINOR=37
KUBERNETES_VALIDATE_VERSION=1.37.0
CHECK_JSONSCHEMA_VERSION=0.39.0
# Oldest (Chart.yaml kubeVersion: native gRPC probes) and newest Kubernetes validated.
KUBE_VERSIONS=(1.27.0 1.37.0)

CHART=helm/park-os
BIN="$INFRA_DIR/bin"
OUT="$INFRA_DIR/helm-check"
PYTHON="${PARKOS_PYTHON:-python3.11}"
mkdir -p "$BIN" "$OUT"

step() { printf '\n== %s\n' "$*"; }

# --- 1. helm -----------------------------------------------------------------
helm_version() { "$1" version --template '{{.Version}}' 2>/dev/null || true; }

HELM=""
if command -v helm >/dev/null 2>&1 && [ "$(helm_version helm)" = "$HELM_VERSION" ]; then
  HELM="$(command -v helm)"
elif [ -x "$BIN/helm" ] && [ "$(helm_version "$BIN/helm")" = "$HELM_VERSION" ]; then
  HELM="$BIN/helm"
else
  command -v go >/dev/null 2>&1 || { echo "helm-check: needs Go to build helm $HELM_VERSION" >&2; exit 1; }
  step "building helm $HELM_VERSION with go install (about 4 minutes on a cold Go cache, 2 cores)"
  started=$SECONDS
  ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    ldflags="$ldflags -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$HELM_K8S_MINOR"
  done
  GOBIN="$BIN" CGO_ENABLED=0 go install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  HELM="$BIN/helm"
  echo "helm built in $((SECONDS - started)) s: $("$HELM" version --short)"
fi

# Keep helm's own config/cache/data out of $HOME: this script only renders.
export HELM_CONFIG_HOME="$OUT/helm-home/config" HELM_CACHE_HOME="$OUT/helm-home/cache" \
       HELM_DATA_HOME="$OUT/helm-home/data"

# --- 2. lint -----------------------------------------------------------------
step "helm lint --strict ($("$HELM" version --short))"
"$HELM" lint --strict "$CHART"
"$HELM" lint --strict "$CHART" --values "$CHART/ci-values.yaml"

# --- 3. render and validate ----------------------------------------------------
step "helm template: default values and ci-values.yaml"
"$HELM" template park-os "$CHART" --namespace park-os > "$OUT/default.yaml"
"$HELM" template park-os "$CHART" --namespace park-os --values "$CHART/ci-values.yaml" > "$OUT/ci.yaml"
for rendered in "$OUT/default.yaml" "$OUT/ci.yaml"; do
  echo "$rendered: $(grep -c '^kind: ' "$rendered") objects"
done

# uv runs each pinned validator in its own cached environment: nothing is added to .venv.
command -v uv >/dev/null 2>&1 || { echo "helm-check: needs uv (make setup installs it)" >&2; exit 1; }
uv_tool() { uv tool run --quiet --python "$PYTHON" "$@"; }

for kube in "${KUBE_VERSIONS[@]}"; do
  step "kubernetes-validate --strict against Kubernetes $kube"
  uv_tool --from "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" \
    kubernetes-validate --strict --quiet --kubernetes-version "$kube" "$OUT/default.yaml" "$OUT/ci.yaml"
  echo "every object valid for Kubernetes $kube"
done

# --- 4. docker-compose.yml ---------------------------------------------------------
step "docker-compose.yml against the Compose Specification schema"
uv_tool --from "check-jsonschema==$CHECK_JSONSCHEMA_VERSION" \
  check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml

if docker compose version >/dev/null 2>&1; then
  step "docker compose config (default and --profile full)"
  docker compose -f docker-compose.yml config --quiet
  docker compose -f docker-compose.yml --profile full config --quiet
  echo "docker compose config: ok"
else
  echo "docker compose plugin not installed here: 'docker compose config' skipped (the schema check above ran)"
fi

step "helm-check: all passed"
