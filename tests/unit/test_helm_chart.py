"""What the Helm chart and docker-compose.yml must mean, checked on what they render.

infra/helm-check.sh lints the chart and validates every rendered object against the
Kubernetes schemas (is it well-formed?); these tests check the intent: each enabled
service gets a Deployment, a Service and an HPA; probes ask gRPC health; no container
runs without limits; only tenants can read the token signing key; docker-compose.yml
agrees with the chart. The chart is rendered with `helm template` (helm is built into
.infra/bin by infra/helm-check.sh); without helm those tests are skipped, saying so.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

yaml = pytest.importorskip(
    "yaml", reason="PyYAML is not installed: it is pinned in the dev dependencies (make setup)"
)

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "park-os"
CI_VALUES = CHART / "ci-values.yaml"
COMPOSE_FILE = ROOT / "docker-compose.yml"
# Any Kubernetes the chart supports; pinned so a helm built without its default
# Kubernetes version stamped in still renders.
KUBE_VERSION = "1.37.0"


def _find_helm() -> str | None:
    built = ROOT / ".infra" / "bin" / "helm"
    if built.is_file():
        return str(built)
    return shutil.which("helm")


HELM = _find_helm()
needs_helm = pytest.mark.skipif(
    HELM is None, reason="helm not found: `bash infra/helm-check.sh` builds it into .infra/bin"
)


# --- rendering -------------------------------------------------------------------


def _helm_template(*args: str) -> subprocess.CompletedProcess[str]:
    assert HELM is not None
    return subprocess.run(
        [HELM, "template", "park-os", str(CHART), "--namespace", "park-os", "--kube-version", KUBE_VERSION, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


class Rendered:
    """The objects of one `helm template`, by kind and name."""

    def __init__(self, *args: str) -> None:
        result = _helm_template(*args)
        assert result.returncode == 0, result.stderr
        self.objects = [doc for doc in yaml.safe_load_all(result.stdout) if doc]

    def of_kind(self, kind: str) -> dict[str, dict[str, Any]]:
        return {o["metadata"]["name"]: o for o in self.objects if o["kind"] == kind}

    def deployments(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(service name, Deployment) for every rendered Deployment."""
        for deployment in self.of_kind("Deployment").values():
            yield deployment["metadata"]["labels"]["app.kubernetes.io/component"], deployment


def _values(*files: Path) -> dict[str, Any]:
    """The chart's values with ``files`` laid over them (maps merge, like helm does)."""

    def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
        merged = dict(base)
        for key, value in over.items():
            if isinstance(value, dict) and isinstance(merged.get(key), dict):
                merged[key] = merge(merged[key], value)
            else:
                merged[key] = value
        return merged

    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for extra in files:
        values = merge(values, yaml.safe_load(extra.read_text()))
    return values


def _enabled(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in values["services"].items() if svc["enabled"]}


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {item["name"]: item for item in container.get("env", [])}


def _secret_volumes(deployment: dict[str, Any]) -> dict[str, str]:
    """volume name -> Secret name, for the pod's Secret volumes."""
    volumes = deployment["spec"]["template"]["spec"].get("volumes", [])
    return {v["name"]: v["secret"]["secretName"] for v in volumes if "secret" in v}


def _settings_of() -> dict[str, type]:
    """Deployment name -> the settings class its process reads (services not built yet have none)."""
    from services.analytics.settings import AnalyticsSettings
    from services.tenants.settings import TenantsSettings
    from services.trades.settings import TradesSettings

    return {"tenants": TenantsSettings, "trades": TradesSettings, "analytics": AnalyticsSettings,
            "analytics-worker": AnalyticsSettings}


# Where each gRPC service is, given to every container for the services that will call
# another one (compute and credit will); no service built so far calls another.
PEER_ADDRESSES = {f"PARKOS_{name}_ADDRESS" for name in ("TENANTS", "TRADES", "COMPUTE", "CREDIT", "ANALYTICS")}


def _unread(names: set[str], settings_class: type) -> set[str]:
    """The PARKOS_* names among ``names`` that ``settings_class`` has no field for (silently ignored)."""
    fields = {f"PARKOS_{field.upper()}" for field in settings_class.model_fields}
    return {name for name in names if name.startswith("PARKOS_") and name not in fields | PEER_ADDRESSES}


CASES = {
    "default values": (),
    "ci-values.yaml (all services, mTLS)": (CI_VALUES,),
}


@pytest.fixture(scope="module", params=list(CASES), ids=list(CASES))
def case(request: pytest.FixtureRequest) -> tuple[Rendered, dict[str, Any]]:
    files = CASES[request.param]
    rendered = Rendered(*[arg for f in files for arg in ("--values", str(f))])
    return rendered, _values(*files)


# --- the chart ----------------------------------------------------------------------


@needs_helm
def test_every_enabled_service_has_a_deployment_a_service_and_an_hpa(case):
    rendered, values = case
    enabled = set(_enabled(values))
    assert enabled, "no service enabled"
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget"):
        names = set(rendered.of_kind(kind))
        assert names == {f"park-os-{name}" for name in enabled}, kind
    for name, hpa in rendered.of_kind("HorizontalPodAutoscaler").items():
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        # The HPA owns the replica count: a Deployment that also set one would be reset
        # to it by every `helm upgrade`.
        assert "replicas" not in rendered.of_kind("Deployment")[name]["spec"]


def test_the_default_values_run_only_what_exists_today():
    values = _values()
    for name in _enabled(values):
        module = values["services"][name]["command"][-1]
        assert (ROOT / Path(*module.split("."))).with_suffix(".py").is_file(), f"{name} enabled but {module} missing"


@needs_helm
def test_probes_ask_grpc_health_and_the_worker_its_metrics(case):
    rendered, values = case
    tls = values["tls"]["enabled"]
    for name, deployment in rendered.deployments():
        svc = values["services"][name]
        container = _container(deployment)
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            action = container[probe]
            if "grpcPort" in svc:
                # Kubelet's gRPC probes cannot do TLS: with mTLS on they use the plaintext
                # health-only port.
                expected_port = values["tls"]["healthPort"] if tls else svc["grpcPort"]
                assert action["grpc"]["port"] == expected_port, (name, probe)
                assert "httpGet" not in action and "tcpSocket" not in action and "exec" not in action
                # readiness follows MongoDB and Kafka; a pod waiting for them must not be restarted
                wanted = "" if probe == "readinessProbe" else values["probes"]["livenessGrpcService"]
                assert action["grpc"].get("service", "") == wanted, (name, probe)
            else:
                assert action["httpGet"] == {"path": "/metrics", "port": "metrics"}, (name, probe)


@needs_helm
def test_no_container_runs_without_requests_and_limits(case):
    rendered, _ = case
    for name, deployment in rendered.deployments():
        pod = deployment["spec"]["template"]["spec"]
        for container in pod["containers"] + pod.get("initContainers", []):
            resources = container.get("resources", {})
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(bound, {})), (name, container["name"], bound)


@needs_helm
def test_only_tenants_mounts_the_signing_key(case):
    rendered, values = case
    signing_secret = values["tokenKeys"]["privateKey"]["secretName"]
    verify_secret = values["tokenKeys"]["publicKey"]["secretName"]
    holders = set()
    for name, deployment in rendered.deployments():
        secrets = set(_secret_volumes(deployment).values())
        env = _env(_container(deployment))
        assert verify_secret in secrets, f"{name} cannot verify tokens"
        assert env["PARKOS_TOKEN_PUBLIC_KEY_FILE"]["value"].startswith("/etc/parkos/keys/verify/")
        if signing_secret in secrets or "PARKOS_TOKEN_PRIVATE_KEY_FILE" in env:
            holders.add(name)
    assert holders == {"tenants"}
    # Nothing in the release reads Secrets through the API: no token to do so.
    for deployment in rendered.of_kind("Deployment").values():
        assert deployment["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


@needs_helm
def test_settings_reach_every_container(case):
    rendered, values = case
    (config_map,) = rendered.of_kind("ConfigMap").values()
    assert config_map["data"]["PARKOS_KAFKA_BOOTSTRAP"] == values["kafka"]["bootstrap"]
    assert config_map["data"]["PARKOS_ENVIRONMENT"] == "production"
    assert config_map["data"]["PARKOS_GRPC_HOST"] == "0.0.0.0"
    for name, deployment in rendered.deployments():
        svc = values["services"][name]
        container = _container(deployment)
        env = _env(container)
        assert container["envFrom"] == [{"configMapRef": {"name": config_map["metadata"]["name"]}}]
        assert env["PARKOS_METRICS_PORT"]["value"] == str(svc["metricsPort"])
        if "grpcPort" in svc:
            assert env["PARKOS_GRPC_PORT"]["value"] == str(svc["grpcPort"])
        # The MongoDB URI carries credentials: only ever from a Secret.
        assert env["PARKOS_MONGO_URI"]["valueFrom"]["secretKeyRef"] == values["mongodb"]["uriSecret"]
        assert "value" not in env["PARKOS_MONGO_URI"]
        for key, value in svc.get("env", {}).items():
            assert env[key]["value"] == value


@needs_helm
def test_every_setting_a_container_gets_is_one_its_process_reads(case):
    # a misspelt or renamed variable is ignored without a word: the process runs on its default
    rendered, _ = case
    (config_map,) = rendered.of_kind("ConfigMap").values()
    for name, deployment in rendered.deployments():
        settings_class = _settings_of().get(name)
        if settings_class is not None:
            names = set(_env(_container(deployment))) | set(config_map["data"])
            assert _unread(names, settings_class) == set(), name


@needs_helm
def test_prometheus_finds_each_metrics_port(case):
    rendered, values = case
    for name, deployment in rendered.deployments():
        port = values["services"][name]["metricsPort"]
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true"
        assert annotations["prometheus.io/port"] == str(port)
        ports = {p["name"]: p["containerPort"] for p in _container(deployment)["ports"]}
        assert ports["metrics"] == port
    for name, service in rendered.of_kind("Service").items():
        container_ports = {p["name"] for p in _container(rendered.of_kind("Deployment")[name])["ports"]}
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in container_ports, (name, port)


@needs_helm
def test_pods_run_as_non_root_on_a_read_only_root(case):
    rendered, _ = case
    for name, deployment in rendered.deployments():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        context = _container(deployment)["securityContext"]
        assert context["readOnlyRootFilesystem"] is True, name
        assert context["allowPrivilegeEscalation"] is False, name


@needs_helm
def test_mtls_mounts_the_certificate_only_when_enabled(case):
    rendered, values = case
    tls = values["tls"]
    for name, deployment in rendered.deployments():
        env = _env(_container(deployment))
        mounted = tls["secretName"] in _secret_volumes(deployment).values()
        tls_env = {key for key in env if key.startswith("PARKOS_TLS_")}
        if tls["enabled"]:
            assert mounted, name
            assert tls_env == {"PARKOS_TLS_CERT_FILE", "PARKOS_TLS_KEY_FILE", "PARKOS_TLS_CA_FILE"}
            # a renewed Secret reaches a volume mounted whole, never one mounted file by file (subPath)
            volume = next(v for v, secret in _secret_volumes(deployment).items() if secret == tls["secretName"])
            mounts = [m for m in _container(deployment)["volumeMounts"] if m["name"] == volume]
            assert mounts and all("subPath" not in m for m in mounts), name
        else:
            assert not mounted and not tls_env, name


@needs_helm
def test_network_policies_follow_the_switch(case):
    rendered, values = case
    policies = rendered.of_kind("NetworkPolicy")
    if values["networkPolicy"]["enabled"]:
        assert set(policies) == set(rendered.of_kind("Deployment"))
    else:
        assert not policies


@needs_helm
def test_a_fixed_replica_count_replaces_the_hpa():
    rendered = Rendered("--set", "services.tenants.autoscaling.enabled=false", "--set", "services.tenants.replicas=3")
    assert "park-os-tenants" not in rendered.of_kind("HorizontalPodAutoscaler")
    assert rendered.of_kind("Deployment")["park-os-tenants"]["spec"]["replicas"] == 3


@needs_helm
def test_the_values_schema_rejects_a_misspelt_setting():
    result = _helm_template("--set", "services.tenants.grcpPort=50051")
    assert result.returncode != 0
    assert "grcpPort" in result.stderr


# --- docker-compose.yml -------------------------------------------------------------

INFRASTRUCTURE = {"kafka", "mongo", "token-keys"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE_FILE.read_text())  # safe_load resolves the << merges


def _app_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: svc for name, svc in compose["services"].items() if name not in INFRASTRUCTURE}


def test_compose_runs_the_same_services_as_the_chart(compose):
    chart = _values()["services"]
    services = _app_services(compose)
    assert set(services) == set(chart)
    for name, svc in services.items():
        env = svc["environment"]
        assert svc["command"] == chart[name]["command"], name
        assert env["PARKOS_METRICS_PORT"] == str(chart[name]["metricsPort"]), name
        if "grpcPort" in chart[name]:
            assert env["PARKOS_GRPC_PORT"] == str(chart[name]["grpcPort"]), name
        else:
            assert "PARKOS_GRPC_PORT" not in env, name


def test_every_setting_compose_gives_a_service_is_one_it_reads(compose):
    for name, svc in _app_services(compose).items():
        settings_class = _settings_of().get(name)
        if settings_class is not None:
            assert _unread(set(svc["environment"]), settings_class) == set(), name


def test_compose_starts_today_only_what_exists(compose):
    for name, svc in _app_services(compose).items():
        if "full" in svc.get("profiles", []):
            continue
        module = svc["command"][-1]
        assert (ROOT / Path(*module.split("."))).with_suffix(".py").is_file(), f"{name} has no profile but no code"
    assert "profiles" not in compose["services"]["tenants"]


def test_compose_services_are_configured_and_wait_for_their_infrastructure(compose):
    for name, svc in _app_services(compose).items():
        env = svc["environment"]
        assert env["PARKOS_KAFKA_BOOTSTRAP"] == "kafka:9092", name
        assert "replicaSet=rs0" in env["PARKOS_MONGO_URI"], name
        assert env["PARKOS_ENVIRONMENT"] == "production", name
        assert env["PARKOS_GRPC_HOST"] == "0.0.0.0", name
        assert env["PARKOS_TOKEN_PUBLIC_KEY_FILE"].startswith("/etc/parkos/keys/verify/"), name
        assert svc["depends_on"] == {
            "kafka": {"condition": "service_healthy"},
            "mongo": {"condition": "service_healthy"},
            "token-keys": {"condition": "service_completed_successfully"},
        }, name
        assert svc["healthcheck"]["test"][0] == "CMD", name
        if "PARKOS_GRPC_PORT" in env:
            assert "grpc_health" in svc["healthcheck"]["test"][-1], name


def test_compose_gives_the_signing_key_to_tenants_only(compose):
    holders = {
        name
        for name, svc in _app_services(compose).items()
        if "PARKOS_TOKEN_PRIVATE_KEY_FILE" in svc["environment"]
        or any(str(volume).startswith("token-signing:") for volume in svc.get("volumes", []))
    }
    assert holders == {"tenants"}


def test_compose_mongo_is_a_replica_set_that_initiates_itself(compose):
    mongo = compose["services"]["mongo"]
    assert "--replSet" in mongo["command"]
    assert "rs.initiate" in mongo["healthcheck"]["test"][-1]


def test_compose_publishes_ports_on_loopback_only(compose):
    for name, svc in compose["services"].items():
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), (name, port)
