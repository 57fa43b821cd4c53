"""Deployment files: docker-compose.yml, .env.example, deploy/k8s and the Dockerfiles.

Parsed and checked for the properties the operations spec (PRODUCT_SPEC §2.9) relies on. Where
the validators from PyPI are installed (check-jsonschema for the Compose specification,
kubernetes-validate for the Kubernetes API schemas), the files are validated against them too.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"

# Variables the production deployment must document (PRODUCT_SPEC §2.9 and the seed).
DOCUMENTED_VARIABLES = {
    "APP_ENV", "APP_VERSION", "API_URL", "PORT", "DATABASE_URL", "DATABASE_POOL_SIZE",
    "REDIS_URL", "REDIS_PASSWORD", "JWT_SECRET", "ENCRYPTION_KEY", "GOOGLE_CLIENT_ID",
    "GOOGLE_CLIENT_SECRET", "MICROSOFT_CLIENT_ID", "MICROSOFT_CLIENT_SECRET",
    "MICROSOFT_TENANT_ID", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "PINECONE_API_KEY",
    "SENTRY_DSN", "NEW_RELIC_LICENSE_KEY", "METRICS_TOKEN", "LOG_LEVEL", "ALLOWED_HOSTS",
    "CORS_ORIGINS", "SYSTEM_SMTP_URL", "EMAIL_FROM", "MAILMIND_DATA_DIR", "BACKUP_S3_URI",
}  # fmt: skip


def _load_all(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def k8s() -> dict[tuple[str, str], dict[str, Any]]:
    """Every object of the kustomization, by (kind, name)."""
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    for resource in kustomization["resources"]:
        for doc in _load_all(K8S / resource):
            key = (doc["kind"], doc["metadata"]["name"])
            assert key not in objects, f"{key} defined twice"
            objects[key] = doc
    return objects


def _env_example_names() -> set[str]:
    names = set()
    for line in (REPO / ".env.example").read_text().splitlines():
        match = re.match(r"^(?:# )?([A-Z][A-Z0-9_]*)=", line)
        if match:
            names.add(match[1])
    return names


# ---- Compose -------------------------------------------------------------------------------------


def test_compose_defines_the_six_services(compose: dict[str, Any]) -> None:
    assert set(compose["services"]) == {
        "backend", "worker", "migrate", "frontend", "postgres", "redis",
    }  # fmt: skip


def test_compose_starts_api_and_worker_only_after_migrations_succeeded(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for name in ("backend", "worker"):
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }
    assert services["migrate"]["command"] == ["mailmind", "migrate"]
    assert services["migrate"]["restart"] == "no"
    assert services["backend"]["command"] == ["mailmind", "api"]
    assert services["worker"]["command"] == ["mailmind", "worker"]


def test_compose_uses_pgvector_and_password_protected_redis(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["postgres"]["image"] == "pgvector/pgvector:pg17"
    redis = services["redis"]
    assert redis["image"] == "redis:7"
    command = redis["command"]
    assert command[command.index("--requirepass") + 1].startswith("${REDIS_PASSWORD")


def test_compose_health_checks_every_long_running_server(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("backend", "frontend", "postgres", "redis"):
        check = services[name]["healthcheck"]
        assert not check.get("disable"), name
        assert check["test"], name
    assert "/health" in " ".join(services["backend"]["healthcheck"]["test"])
    # The worker serves no HTTP: the image's /health check must not mark it unhealthy.
    assert services["worker"]["healthcheck"] == {"disable": True}
    for name in ("backend", "frontend", "worker"):
        for dependency, condition in services[name]["depends_on"].items():
            if dependency != "migrate":
                assert condition == {"condition": "service_healthy"}, (name, dependency)


def test_compose_reads_configuration_from_env_file(compose: dict[str, Any]) -> None:
    for name in ("backend", "worker", "migrate"):
        assert compose["services"][name]["env_file"] == ".env"


def test_compose_matches_the_compose_specification() -> None:
    if importlib.util.find_spec("check_jsonschema") is None:
        pytest.skip("check-jsonschema is not installed")
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec",
         str(REPO / "docker-compose.yml")],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_env_example_lists_every_variable(compose: dict[str, Any]) -> None:
    listed = _env_example_names()
    compose_text = (REPO / "docker-compose.yml").read_text()
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", compose_text))

    assert DOCUMENTED_VARIABLES - listed == set()
    assert interpolated - listed == set()


def test_env_example_lists_every_setting_of_the_app() -> None:
    if importlib.util.find_spec("mailmind.config") is None:
        pytest.skip("the mailmind package is not installed")
    from mailmind.config import Settings

    names: set[str] = set()
    for field in Settings.model_fields.values():
        alias = field.validation_alias
        choices = getattr(alias, "choices", [alias])
        names.update(str(choice) for choice in choices if choice)
    # Aliases of listed variables: NODE_ENV (APP_ENV), VITE_API_URL (API_URL) is a build arg.
    assert names - _env_example_names() - {"NODE_ENV"} == set()


def test_env_example_leaves_secrets_empty() -> None:
    values = dict(
        line.split("=", 1)
        for line in (REPO / ".env.example").read_text().splitlines()
        if re.match(r"^[A-Z][A-Z0-9_]*=", line)
    )
    for name in ("JWT_SECRET", "ENCRYPTION_KEY", "POSTGRES_PASSWORD", "REDIS_PASSWORD"):
        assert values[name] == "", name


# ---- Kubernetes ----------------------------------------------------------------------------------


def test_every_manifest_parses_and_is_in_the_kustomization() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    listed = set(kustomization["resources"])
    on_disk = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    for name in on_disk:
        assert _load_all(K8S / name), name
    # The Secret template stays out, so placeholders never reach a cluster.
    assert on_disk - listed == {"secret.example.yaml"}
    assert listed <= on_disk


def test_manifests_are_namespace_agnostic(k8s: dict[tuple[str, str], dict[str, Any]]) -> None:
    for key, obj in k8s.items():
        assert "namespace" not in obj["metadata"], key
    assert "namespace" not in yaml.safe_load((K8S / "kustomization.yaml").read_text())


def test_backend_rolls_out_without_losing_capacity(
    k8s: dict[tuple[str, str], dict[str, Any]],
) -> None:
    deployment = k8s[("Deployment", "mailmind-backend")]
    spec = deployment["spec"]
    assert spec["replicas"] == 3
    assert spec["strategy"]["type"] == "RollingUpdate"
    assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": 0, "maxSurge": 1}

    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert container["livenessProbe"]["httpGet"]["path"] == "/health"
    assert container["ports"][0]["containerPort"] == 9000
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    # The grace period must cover the drain pause plus uvicorn's 20 s graceful shutdown.
    assert pod["terminationGracePeriodSeconds"] >= int(pre_stop[1]) + 20


WORKLOADS = [
    ("Deployment", "mailmind-backend"),
    ("Deployment", "mailmind-worker"),
    ("Job", "mailmind-migrate"),
    ("Deployment", "mailmind-frontend"),
]


def test_pods_run_as_non_root(k8s: dict[tuple[str, str], dict[str, Any]]) -> None:
    for kind, name in WORKLOADS:
        pod = k8s[(kind, name)]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        for container in pod["containers"]:
            assert container["securityContext"]["allowPrivilegeEscalation"] is False, name


def _secret_refs(container: dict[str, Any]) -> list[tuple[str, str, bool]]:
    refs = []
    for item in container.get("env", []):
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            refs.append((item["name"], ref["key"], bool(ref.get("optional", False))))
    return refs


def test_backend_worker_and_migrate_share_one_configuration(
    k8s: dict[tuple[str, str], dict[str, Any]],
) -> None:
    envs = []
    for kind, name in WORKLOADS[:3]:  # backend, worker, migrate
        (container,) = k8s[(kind, name)]["spec"]["template"]["spec"]["containers"]
        assert container["envFrom"] == [{"configMapRef": {"name": "mailmind-config"}}]
        envs.append(container["env"])
    assert envs[0] == envs[1] == envs[2]
    assert ("ConfigMap", "mailmind-config") in k8s


def test_secret_template_has_every_key_the_workloads_read(
    k8s: dict[tuple[str, str], dict[str, Any]],
) -> None:
    text = (K8S / "secret.example.yaml").read_text()
    (secret,) = _load_all(K8S / "secret.example.yaml")
    assert secret["metadata"]["name"] == "mailmind-secrets"
    present = set(secret["stringData"])
    commented = set(re.findall(r"^\s+# ([a-z0-9-]+): ", text, flags=re.M))
    (container,) = k8s[("Deployment", "mailmind-backend")]["spec"]["template"]["spec"]["containers"]
    refs = _secret_refs(container)
    required = {key for _, key, optional in refs if not optional}

    assert {"database-url", "redis-url", "jwt-secret", "encryption-key"} <= required
    assert "redis-password" in {key for _, key, _ in refs}
    assert required <= present
    assert {key for _, key, _ in refs} <= present | commented


def test_service_pdb_and_hpa_target_the_backend_pods(
    k8s: dict[tuple[str, str], dict[str, Any]],
) -> None:
    labels = k8s[("Deployment", "mailmind-backend")]["spec"]["template"]["metadata"]["labels"]
    service = k8s[("Service", "mailmind-backend")]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["port"] == 9000
    pdb = k8s[("PodDisruptionBudget", "mailmind-backend")]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert pdb["spec"]["minAvailable"] < 3
    hpa = k8s[("HorizontalPodAutoscaler", "mailmind-backend")]
    assert hpa["spec"]["scaleTargetRef"]["name"] == "mailmind-backend"
    assert hpa["spec"]["minReplicas"] >= 3


def test_ingress_routes_websocket_with_long_timeouts(
    k8s: dict[tuple[str, str], dict[str, Any]],
) -> None:
    routes: dict[str, tuple[str, dict[str, str]]] = {}
    for (kind, _), obj in k8s.items():
        if kind != "Ingress":
            continue
        for rule in obj["spec"]["rules"]:
            for path in rule["http"]["paths"]:
                routes[path["path"]] = (
                    path["backend"]["service"]["name"],
                    obj["metadata"].get("annotations", {}),
                )
    ws_service, ws_annotations = routes["/ws"]
    assert ws_service == "mailmind-backend"
    assert int(ws_annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"]) >= 3600
    assert int(ws_annotations["nginx.ingress.kubernetes.io/proxy-send-timeout"]) >= 3600
    assert routes["/api"][0] == "mailmind-backend"
    assert routes["/"][0] == "mailmind-frontend"


def test_migrate_job_runs_alembic_once(k8s: dict[tuple[str, str], dict[str, Any]]) -> None:
    job = k8s[("Job", "mailmind-migrate")]
    pod = job["spec"]["template"]["spec"]
    assert pod["containers"][0]["command"] == ["mailmind", "migrate"]
    assert pod["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] == 0


def test_manifests_match_the_kubernetes_api_schemas(
    k8s: dict[tuple[str, str], dict[str, Any]],
) -> None:
    if importlib.util.find_spec("kubernetes_validate") is None:
        pytest.skip("kubernetes-validate is not installed")
    import kubernetes_validate

    for obj in k8s.values():
        kubernetes_validate.validate(obj, "1.30.0", strict=True)  # raises on an invalid object
    (secret,) = _load_all(K8S / "secret.example.yaml")
    kubernetes_validate.validate(secret, "1.30.0", strict=True)


# ---- Dockerfiles ---------------------------------------------------------------------------------


def _instructions(path: Path) -> list[tuple[str, str]]:
    text = re.sub(r"\\\n", " ", path.read_text())
    result = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            result.append((keyword.upper(), rest.strip()))
    return result


def test_backend_image_is_slim_multi_stage_non_root_with_health_check() -> None:
    steps = _instructions(REPO / "docker/backend/Dockerfile")
    froms = [rest for keyword, rest in steps if keyword == "FROM"]
    args = dict(rest.split("=", 1) for keyword, rest in steps if keyword == "ARG" and "=" in rest)
    assert args["PYTHON_IMAGE"] == "python:3.11-slim"
    assert len(froms) == 2
    assert all(f.startswith("${PYTHON_IMAGE}") for f in froms)
    last_stage = steps[max(i for i, (k, _) in enumerate(steps) if k == "FROM") :]
    users = [rest for keyword, rest in last_stage if keyword == "USER"]
    assert users
    assert not users[-1].startswith(("0", "root"))
    assert ("EXPOSE", "9000") in steps
    health = next(rest for keyword, rest in steps if keyword == "HEALTHCHECK")
    assert "/health" in health
    assert "urllib" in health
    assert steps[-1] == ("CMD", '["mailmind", "api"]')


def test_frontend_image_builds_with_node_20_and_serves_on_3000_unprivileged() -> None:
    steps = _instructions(REPO / "docker/frontend/Dockerfile")
    froms = [rest for keyword, rest in steps if keyword == "FROM"]
    assert froms[0].startswith("node:20")
    assert froms[-1].startswith("nginxinc/nginx-unprivileged:")
    assert ("ARG", 'VITE_API_URL=""') in steps
    assert ("ENV", "VITE_API_URL=${VITE_API_URL}") in steps
    assert ("EXPOSE", "3000") in steps
    assert "listen 3000;" in (REPO / "docker/frontend/nginx.conf").read_text()
