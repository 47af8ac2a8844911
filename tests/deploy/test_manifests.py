"""Offline checks of the deploy files: Kubernetes manifests, docker-compose.yml and the Dockerfiles.

Nothing here talks to a cluster or a Docker engine. Kubernetes documents are validated with the
schemas bundled in `kubernetes-validate`; docker-compose.yml with the Compose Specification schema
vendored beside this file (compose-spec.json, see README.md here).
"""

import importlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from pydantic import ValidationError

pytestmark = pytest.mark.deploy

ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = ROOT / "deploy" / "k8s"
COMPOSE_FILE = ROOT / "docker-compose.yml"
COMPOSE_SCHEMA = Path(__file__).with_name("compose-spec.json")
ENV_EXAMPLE = ROOT / "deploy" / "compose" / "env.example"
POSTGRES_INIT = ROOT / "deploy" / "compose" / "postgres-init.sh"
KUBERNETES_VERSION = "1.35.0"
SECRET_NAME = "qunyun-secrets"
# Referenced by the gateway's pods only: the key that signs operators' access tokens.
GATEWAY_SECRET_NAME = "qunyun-gateway-secrets"
GATEWAY_SECRETS = ("INTERNAL_TOKEN_SECRET", "PLATFORM_ADMIN_TOKEN", "ACCESS_TOKEN_SECRET")
# `python -m qunyun_shared.topics create` reads only these.
TOPICS_ENV = {"KAFKA_BOOTSTRAP_SERVERS", "KAFKA_TOPIC_PREFIX"}


@dataclass(frozen=True)
class Service:
    dir: str
    package: str
    port: int
    database: str


SERVICES = (
    Service("gateway", "gateway_svc", 8000, "qunyun_gateway"),
    Service("member-svc", "member_svc", 8001, "qunyun_member"),
    Service("content-svc", "content_svc", 8002, "qunyun_content"),
    Service("campaign-svc", "campaign_svc", 8003, "qunyun_campaign"),
    Service("analytics-svc", "analytics_svc", 8004, "qunyun_analytics"),
)
BY_DIR = {service.dir: service for service in SERVICES}
each_service = pytest.mark.parametrize("service", SERVICES, ids=lambda service: service.dir)


# --- loading ---------------------------------------------------------------------------------


def k8s_files() -> list[Path]:
    return sorted(path for path in K8S_DIR.glob("*.yaml") if path.name != "kustomization.yaml")


def k8s_documents(path: Path) -> list[dict[str, Any]]:
    with path.open() as stream:
        return [doc for doc in yaml.safe_load_all(stream) if doc]


def k8s_object(path: Path, kind: str, name: str) -> dict[str, Any]:
    matches = [d for d in k8s_documents(path) if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(matches) == 1, f"{path.name}: expected one {kind}/{name}, found {len(matches)}"
    return matches[0]


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def settings_env_names(package: str) -> tuple[set[str], set[str]]:
    """(every variable `<package>.config.Settings` reads, the ones without a default)."""
    fields = importlib.import_module(f"{package}.config").Settings.model_fields
    required = {name.upper() for name, field in fields.items() if field.is_required()}
    return {name.upper() for name in fields}, required


def pod_templates() -> list[tuple[str, dict[str, Any]]]:
    """(`file:kind/name`, pod spec) of every workload in deploy/k8s."""
    found = []
    for path in k8s_files():
        for doc in k8s_documents(path):
            if doc["kind"] in {"Deployment", "StatefulSet", "Job", "DaemonSet"}:
                found.append((f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc["spec"]["template"]["spec"]))
    return found


def containers(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def effective_security(pod: dict[str, Any], container: dict[str, Any]) -> dict[str, Any]:
    """Container securityContext over the pod's (the fields both define)."""
    return {**pod.get("securityContext", {}), **container.get("securityContext", {})}


def env_names(container: dict[str, Any], config_maps: dict[str, dict[str, str]]) -> set[str]:
    names = {entry["name"] for entry in container.get("env", [])}
    for source in container.get("envFrom", []):
        names |= set(config_maps[source["configMapRef"]["name"]])
    return names


def service_databases(script: str) -> dict[str, str]:
    """{database (and its owning role): the variable holding that role's password} of the init script."""
    return dict(re.findall(r'^service_database (\w+) "\$\{(\w+):\?\}"$', script, flags=re.MULTILINE))


def database_secret(service: Service) -> str:
    """The Secret of one service's database role: `url` for the service, `password` for postgres."""
    return f"{service.dir}-database"


# --- Kubernetes ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", k8s_files(), ids=lambda path: path.name)
def test_k8s_documents_validate_against_the_api_schemas(path: Path) -> None:
    documents = k8s_documents(path)
    assert documents, f"{path.name} holds no document"
    for doc in documents:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as error:
            where = ".".join(str(part) for part in error.path)
            pytest.fail(f"{path.name} {doc['kind']}/{doc['metadata']['name']}: {where}: {error.message}")


def test_kustomization_lists_every_manifest() -> None:
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    assert kustomization["namespace"] == "qunyun"
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed)), "a resource is listed twice"
    assert set(listed) == {path.name for path in k8s_files()}
    assert {image["name"] for image in kustomization["images"]} == {f"qunyun/{s.dir}" for s in SERVICES}


def test_every_pod_meets_the_restricted_standard_and_sets_resources() -> None:
    for where, pod in pod_templates():
        assert pod.get("automountServiceAccountToken") is False, where
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        for container in containers(pod):
            security = effective_security(pod, container)
            label = f"{where} container {container['name']}"
            assert security.get("runAsNonRoot") is True, label
            assert security.get("allowPrivilegeEscalation") is False, label
            assert security.get("capabilities", {}).get("drop") == ["ALL"], label
            assert not security.get("capabilities", {}).get("add"), label
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][bound]), f"{label}: {bound}"


def test_secrets_are_only_referenced_never_committed() -> None:
    for path in k8s_files():
        for doc in k8s_documents(path):
            assert doc["kind"] != "Secret", f"{path.name} commits a Secret"
    for where, pod in pod_templates():
        for container in containers(pod):
            for entry in container.get("env", []):
                secret = entry.get("valueFrom", {}).get("secretKeyRef")
                if secret:
                    allowed = {SECRET_NAME, GATEWAY_SECRET_NAME, *map(database_secret, SERVICES)}
                    assert secret["name"] in allowed, f"{where}: {entry['name']}"


def test_only_the_gateway_holds_the_key_that_signs_access_tokens() -> None:
    holders = set()
    for where, pod in pod_templates():
        for container in containers(pod):
            for entry in container.get("env", []):
                secret = entry.get("valueFrom", {}).get("secretKeyRef") or {}
                if entry["name"] == "ACCESS_TOKEN_SECRET" or secret.get("name") == GATEWAY_SECRET_NAME:
                    assert secret == {"name": GATEWAY_SECRET_NAME, "key": "access-token-secret"}, where
                    holders.add(where.split(":")[0])
    assert holders == {"gateway.yaml"}
    in_compose = {
        name for name, spec in compose()["services"].items() if "ACCESS_TOKEN_SECRET" in spec.get("environment", {})
    }
    assert in_compose == {"gateway", "gateway-migrate"}


@each_service
def test_service_manifest_has_every_object(service: Service) -> None:
    path = K8S_DIR / f"{service.dir}.yaml"
    kinds = sorted(doc["kind"] for doc in k8s_documents(path))
    assert kinds == sorted(["ServiceAccount", "ConfigMap", "Deployment", "Service", "HorizontalPodAutoscaler"])
    hpa = k8s_object(path, "HorizontalPodAutoscaler", service.dir)
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": service.dir}
    assert [metric["resource"]["name"] for metric in hpa["spec"]["metrics"]] == ["cpu"]


@each_service
def test_service_deployment_migrates_then_serves_with_probes(service: Service) -> None:
    path = K8S_DIR / f"{service.dir}.yaml"
    pod = k8s_object(path, "Deployment", service.dir)["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == service.dir
    [migrate] = pod["initContainers"]
    assert migrate["command"] == ["python", "-m", service.package, "migrate"]
    [server] = pod["containers"]
    assert server["command"] == ["python", "-m", service.package, "serve"]
    assert migrate["image"] == server["image"] == f"qunyun/{service.dir}:dev"
    ports = {port["name"]: port["containerPort"] for port in server["ports"]}
    assert ports == {"http": service.port}
    for probe, path_ in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
        http = server[probe]["httpGet"]
        assert http["path"] == path_, probe
        assert ports.get(http["port"], http["port"]) == service.port, probe


@each_service
def test_service_pods_run_read_only_with_a_writable_tmp(service: Service) -> None:
    pod = k8s_object(K8S_DIR / f"{service.dir}.yaml", "Deployment", service.dir)["spec"]["template"]["spec"]
    empty_dirs = {volume["name"] for volume in pod["volumes"] if "emptyDir" in volume}
    for container in containers(pod):
        assert effective_security(pod, container).get("readOnlyRootFilesystem") is True, container["name"]
        mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
        assert mounts.get("/tmp") in empty_dirs, container["name"]


@each_service
def test_service_is_cluster_internal_on_its_port(service: Service) -> None:
    k8s_service = k8s_object(K8S_DIR / f"{service.dir}.yaml", "Service", service.dir)
    assert k8s_service["spec"].get("type", "ClusterIP") == "ClusterIP"
    assert k8s_service["spec"]["selector"] == {"app.kubernetes.io/name": service.dir}
    assert [(p["port"], p["targetPort"]) for p in k8s_service["spec"]["ports"]] == [(service.port, "http")]


def test_no_service_is_exposed_outside_the_cluster() -> None:
    for path in k8s_files():
        for doc in k8s_documents(path):
            if doc["kind"] == "Service":
                assert doc["spec"].get("type", "ClusterIP") == "ClusterIP", f"{path.name} {doc['metadata']['name']}"
            assert doc["kind"] != "Ingress", f"{path.name}: exposure is left to the cluster"


def test_network_policy_admits_outside_traffic_to_the_gateway_only() -> None:
    policies = {doc["metadata"]["name"]: doc["spec"] for doc in k8s_documents(K8S_DIR / "network-policy.yaml")}
    assert policies["default-deny-ingress"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    open_to_all = [
        spec["podSelector"] for spec in policies.values() for rule in spec.get("ingress", []) if "from" not in rule
    ]
    assert open_to_all == [{"matchLabels": {"app.kubernetes.io/name": "gateway"}}]
    backends = policies["services-from-gateway"]
    [selector] = backends["podSelector"]["matchExpressions"]
    assert set(selector["values"]) == {s.dir for s in SERVICES if s.dir != "gateway"}
    [rule] = backends["ingress"]
    assert rule["from"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}}]
    assert {port["port"] for port in rule["ports"]} == {s.port for s in SERVICES if s.dir != "gateway"}


def test_postgres_creates_one_database_per_service_in_k8s_and_compose() -> None:
    config_map = k8s_object(K8S_DIR / "postgres.yaml", "ConfigMap", "postgres-init")
    script = POSTGRES_INIT.read_text()
    assert config_map["data"] == {"10-databases.sh": script}
    assert set(service_databases(script)) == {service.database for service in SERVICES}
    # Each owned by its own role, which holds no other power and which nobody else may connect as.
    for clause in (
        "OWNER %I', :'name', :'name'",
        "NOSUPERUSER NOCREATEDB NOCREATEROLE",
        "REVOKE ALL ON DATABASE %I FROM PUBLIC",
    ):
        assert clause in script


def test_each_k8s_service_connects_as_its_own_role_from_its_own_secret() -> None:
    variables = service_databases(POSTGRES_INIT.read_text())
    postgres = k8s_object(K8S_DIR / "postgres.yaml", "StatefulSet", "postgres")["spec"]["template"]["spec"]
    [server] = postgres["containers"]
    passwords = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in server["env"] if e["name"].endswith("_DB_PASSWORD")}
    assert passwords == {
        variables[service.database]: {"name": database_secret(service), "key": "password"} for service in SERVICES
    }
    for service in SERVICES:
        pod = k8s_object(K8S_DIR / f"{service.dir}.yaml", "Deployment", service.dir)["spec"]["template"]["spec"]
        for container in containers(pod):
            refs = [
                e["valueFrom"]["secretKeyRef"] for e in container["env"] if "secretKeyRef" in e.get("valueFrom", {})
            ]
            databases = [ref for ref in refs if ref["name"].endswith("-database")]
            assert databases == [{"name": database_secret(service), "key": "url"}], f"{service.dir} {container['name']}"


def test_each_compose_service_connects_as_its_own_role() -> None:
    variables = service_databases(POSTGRES_INIT.read_text())
    services = compose()["services"]
    assert set(variables.values()) <= set(services["postgres"]["environment"])
    for service in SERVICES:
        own = variables[service.database]
        for name in (service.dir, f"{service.dir}-migrate"):
            url = services[name]["environment"]["DATABASE_URL"]
            assert url == f"postgresql+asyncpg://{service.database}:${{{own}}}@postgres:5432/{service.database}", name
            others = set(variables.values()) - {own} | {"POSTGRES_PASSWORD"}
            assert not [o for o in others if o in json.dumps(services[name]["environment"])], name


def test_topics_job_runs_the_shared_command_from_the_gateway_image() -> None:
    job = k8s_object(K8S_DIR / "topics-job.yaml", "Job", "kafka-topics")
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["image"] == "qunyun/gateway:dev"
    assert container["command"] == ["python", "-m", "qunyun_shared.topics", "create"]
    assert {entry["name"] for entry in container["env"]} <= TOPICS_ENV


# --- docker compose --------------------------------------------------------------------------


def test_compose_file_validates_against_the_compose_specification() -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(compose()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{'.'.join(map(str, e.path))}: {e.message}" for e in errors)


def test_compose_long_running_services_have_healthchecks() -> None:
    services = compose()["services"]
    one_shots = {name for name, spec in services.items() if spec.get("restart") == "no"}
    assert one_shots == {"kafka-topics", *(f"{s.dir}-migrate" for s in SERVICES)}
    for name, spec in services.items():
        if name not in one_shots:
            assert spec.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"


@each_service
def test_compose_service_waits_for_its_migration_and_checks_readyz(service: Service) -> None:
    services = compose()["services"]
    spec, migrate = services[service.dir], services[f"{service.dir}-migrate"]
    assert spec["command"] == ["python", "-m", service.package, "serve"]
    assert migrate["command"] == ["python", "-m", service.package, "migrate"]
    for one in (spec, migrate):
        assert one["build"] == {
            "context": ".",
            "dockerfile": "deploy/Dockerfile",
            "args": {"SERVICE": service.dir, "PACKAGE": service.package, "PORT": str(service.port)},
        }
        assert one["image"] == f"qunyun/{service.dir}:dev"
    conditions = {name: dep["condition"] for name, dep in spec["depends_on"].items()}
    assert conditions[f"{service.dir}-migrate"] == "service_completed_successfully"
    assert conditions["kafka-topics"] == "service_completed_successfully"
    assert conditions["kafka"] == "service_healthy"
    assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert "/readyz" in " ".join(spec["healthcheck"]["test"])
    assert spec["environment"]["PORT"] == str(service.port)
    assert spec["environment"]["DATABASE_URL"].endswith(f"@postgres:5432/{service.database}")


def test_compose_publishes_only_the_gateway() -> None:
    published = {name: spec["ports"] for name, spec in compose()["services"].items() if spec.get("ports")}
    assert published == {"gateway": ["8000:8000"]}


def test_compose_secrets_come_from_the_uncommitted_env_file() -> None:
    text = COMPOSE_FILE.read_text()
    interpolated = set(re.findall(r"\$\{(\w+)", text))
    example = {line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text().splitlines() if re.match(r"^\w+=", line)}
    assert interpolated == example
    for name in ("INTERNAL_TOKEN_SECRET", "PLATFORM_ADMIN_TOKEN", "ACCESS_TOKEN_SECRET", "POSTGRES_PASSWORD"):
        assert f"${{{name}:?" in text, f"{name} must be required, not defaulted"
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert ".env" in ignored


@pytest.mark.parametrize("name", GATEWAY_SECRETS)
def test_the_env_example_ships_no_secret_the_gateway_accepts(name: str) -> None:
    example = dict(line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if re.match(r"^\w+=", line))
    secrets = {key.lower(): f"{key.lower()}-{'x' * 32}" for key in GATEWAY_SECRETS}
    settings = importlib.import_module("gateway_svc.config").Settings
    key = "a2tra2tra2tra2tra2tra2tra2tra2tra2tra2tra2s="  # WEBHOOK_SECRET_KEY: base64 of 32 bytes
    settings(database_url="sqlite+aiosqlite://", webhook_secret_key=key, **secrets)  # the other values are fine
    with pytest.raises(ValidationError, match=name.lower()):
        settings(
            database_url="sqlite+aiosqlite://", webhook_secret_key=key, **(secrets | {name.lower(): example[name]})
        )


def test_compose_topics_one_shot_needs_kafka_only() -> None:
    topics = compose()["services"]["kafka-topics"]
    assert topics["command"] == ["python", "-m", "qunyun_shared.topics", "create"]
    assert topics["image"] == "qunyun/gateway:dev"
    assert set(topics["environment"]) <= TOPICS_ENV
    assert topics["depends_on"] == {"kafka": {"condition": "service_healthy"}}


# --- images ----------------------------------------------------------------------------------


def test_dockerignore_keeps_local_state_out_of_the_build_context() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().splitlines())
    assert {".git", ".env", "**/.venv", "**/.cache", "**/__pycache__", "bench/results"} <= ignored


def test_one_dockerfile_builds_a_non_root_image_serving_the_package_it_is_given() -> None:
    text = (ROOT / "deploy/Dockerfile").read_text()
    assert re.findall(r"^FROM (.+)$", text, flags=re.MULTILINE) == ["python:3.11-slim AS build", "python:3.11-slim"]
    assert re.findall(r"^ARG (\S+)$", text, flags=re.MULTILINE) == ["SERVICE", "PACKAGE", "PORT"]
    assert "COPY shared/ shared/" in text and "COPY services/${SERVICE}/ services/${SERVICE}/" in text
    assert "SERVICE_PACKAGE=${PACKAGE}" in text and "PORT=${PORT}" in text
    assert re.findall(r"^USER (\S+)", text, flags=re.MULTILINE) == ["10001:10001"]
    assert re.findall(r"^EXPOSE (\S+)$", text, flags=re.MULTILINE) == ["${PORT}"]
    [cmd] = re.findall(r"^CMD (.+)$", text, flags=re.MULTILINE)
    assert json.loads(cmd) == ["sh", "-c", 'exec python -m "$SERVICE_PACKAGE" serve']


# --- settings: every variable the deploy files set is one the service reads --------------------


@each_service
def test_env_names_match_the_service_settings(service: Service) -> None:
    fields, required = settings_env_names(service.package)
    services = compose()["services"]
    for name in (service.dir, f"{service.dir}-migrate"):
        names = set(services[name]["environment"])
        assert names <= fields, f"compose {name} sets unknown {sorted(names - fields)}"
        assert required <= names, f"compose {name} misses {sorted(required - names)}"

    path = K8S_DIR / f"{service.dir}.yaml"
    config_maps = {doc["metadata"]["name"]: doc["data"] for doc in k8s_documents(path) if doc["kind"] == "ConfigMap"}
    pod = k8s_object(path, "Deployment", service.dir)["spec"]["template"]["spec"]
    for container in containers(pod):
        names = env_names(container, config_maps)
        assert names <= fields, f"k8s {container['name']} sets unknown {sorted(names - fields)}"
        assert required <= names, f"k8s {container['name']} misses {sorted(required - names)}"
