"""deploy/ parses, sets only real settings, sets every required one, and runs real commands."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from pydantic import ValidationError
from pydantic_settings import SettingsError
from rich.console import Console

from cli import app
from devstack.stack import DevStack
from settings import Settings, env_names, hash_token
from workflows.temporal import EAGER_ACTIVITIES

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
HELM_VALUES = K8S / "temporal-values.yaml"
ALIASES = env_names()
# Without these a production process would talk to a local SQLite file and Temporal, accept
# no token, verify no webhook and encrypt no PHI.
REQUIRED_IN_PRODUCTION = {
    "DATABASE_URL",
    "TEMPORAL_ADDRESS",
    "STEPDOWN_API_TOKENS",
    "STEPDOWN_WEBHOOK_SECRETS",
    "STEPDOWN_PAYLOAD_KEYS",
}
# Variables of the third-party images, as their documentation names them.
TEMPORAL_SQL = {
    "SQL_PLUGIN",
    "SQL_HOST",
    "SQL_PORT",
    "SQL_USER",
    "SQL_PASSWORD",
    "SQL_DATABASE",
    "SQL_VISIBILITY_DATABASE",
}
THIRD_PARTY = {
    "postgres": {"POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"},
    "temporalio/server": TEMPORAL_SQL,
    "temporalio/admin-tools": TEMPORAL_SQL | {"TEMPORAL_ADDRESS"},
    "temporalio/ui": {"TEMPORAL_ADDRESS", "TEMPORAL_CORS_ORIGINS", "TEMPORAL_CODEC_ENDPOINT"},
}
KEY = base64.b64encode(b"k" * 32).decode()
SAMPLE_ENV = {
    "READ_MODEL_PASSWORD": "pw",
    "TEMPORAL_DB_PASSWORD": "pw",
    # Production keeps the hashes of tokens only.
    "STEPDOWN_API_TOKENS": json.dumps({hash_token("a-long-random-token"): "ops"}),
    "STEPDOWN_WEBHOOK_SECRETS": '{"*": ["a-long-random-secret"]}',
    "STEPDOWN_PAYLOAD_KEYS": f'{{"k1": "{KEY}"}}',
    "STEPDOWN_PAYLOAD_ACTIVE_KEY": "k1",
}


def required_fields() -> set[str]:
    return {f.alias for f in Settings.model_fields.values() if f.is_required() and f.alias}


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    return loaded


def k8s_documents() -> list[dict[str, Any]]:
    paths = sorted(set(K8S.glob("*.yaml")) - {HELM_VALUES})
    return [doc for path in paths for doc in yaml.safe_load_all(path.read_text())]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in k8s_documents() if doc.get("kind") == kind]


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?message}."""

    def one(match: re.Match[str]) -> str:
        name, op, rest = match.group(1), match.group(2), match.group(3)
        if name in env:
            return env[name]
        if op == ":?":
            raise KeyError(f"{name}: {rest}")
        return rest or ""

    return re.sub(r"\$\{([A-Z_]+)(?:(:[-?])([^}]*))?\}", one, value)


def app_services() -> dict[str, dict[str, Any]]:
    services = compose()["services"]
    return {name: s for name, s in services.items() if s.get("image", "").startswith("stepdown")}


def pod_specs() -> list[dict[str, Any]]:
    workloads = of_kind("Deployment") + of_kind("Job")
    return [w["spec"]["template"]["spec"] for w in workloads]


def k8s_settings(secret_values: dict[str, str] | None = None) -> dict[str, str]:
    [config] = of_kind("ConfigMap")
    [secret] = of_kind("Secret")
    values = dict(secret["stringData"]) | (secret_values or {})
    return {**config["data"], **values}


def test_every_yaml_file_parses():
    files = [DEPLOY / "docker-compose.yml", *sorted(K8S.glob("*.yaml"))]
    for path in files:
        assert list(yaml.safe_load_all(path.read_text())), path


def test_compose_app_services_set_only_settings_and_every_required_one():
    services = app_services()
    assert {"migrate", "api", "worker"} <= set(services)
    for name, service in services.items():
        env = set(service["environment"])
        assert env <= ALIASES, f"{name}: not settings: {env - ALIASES}"
        assert REQUIRED_IN_PRODUCTION | required_fields() <= env, name
        assert "STEPDOWN_DEV" not in env


def test_compose_third_party_services_set_only_their_documented_variables():
    for name, service in compose()["services"].items():
        image = service.get("image", "")
        if image.startswith("stepdown"):
            continue
        known = next(v for prefix, v in THIRD_PARTY.items() if image.startswith(prefix + ":"))
        assert set(service.get("environment", {})) <= known, name


def settings_from(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings read from exactly `env`, as a process started with it would read them."""
    for alias in ALIASES:
        monkeypatch.delenv(alias, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings()


def test_compose_values_make_valid_production_settings(monkeypatch: pytest.MonkeyPatch):
    declared = app_services()["api"]["environment"]
    env = {k: interpolate(str(v), SAMPLE_ENV) for k, v in declared.items()}
    settings = settings_from(env, monkeypatch)

    assert not settings.dev_mode
    assert settings.database_url.startswith("postgresql+psycopg://")


def test_compose_refuses_to_start_without_the_secrets():
    env = app_services()["api"]["environment"]
    missing = dict(SAMPLE_ENV)
    del missing["STEPDOWN_PAYLOAD_KEYS"]
    with pytest.raises(KeyError, match="STEPDOWN_PAYLOAD_KEYS"):
        interpolate(env["STEPDOWN_PAYLOAD_KEYS"], missing)


def test_compose_runs_n_workers_and_migrates_before_the_api():
    services = compose()["services"]

    assert interpolate(str(services["worker"]["deploy"]["replicas"]), {}) == "2"
    assert services["api"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_k8s_configmap_and_secret_hold_only_settings_and_every_required_one():
    keys = set(k8s_settings())

    assert keys <= ALIASES, keys - ALIASES
    assert REQUIRED_IN_PRODUCTION | required_fields() <= keys
    assert "STEPDOWN_DEV" not in keys


def test_k8s_settings_are_valid_once_the_secret_is_filled_in(monkeypatch: pytest.MonkeyPatch):
    real = {k: v for k, v in SAMPLE_ENV.items() if k.startswith("STEPDOWN_")}
    real["DATABASE_URL"] = "postgresql+psycopg://stepdown:pw@db:5432/stepdown"
    settings = settings_from(k8s_settings(real), monkeypatch)

    assert settings.api_port == 8000
    assert not settings.dev_mode


def test_the_committed_secret_placeholders_are_refused_at_startup(
    monkeypatch: pytest.MonkeyPatch,
):
    with pytest.raises((ValidationError, SettingsError)):
        settings_from(k8s_settings(), monkeypatch)


def test_every_pod_takes_its_settings_from_the_configmap_and_secret():
    names = {doc["metadata"]["name"] for doc in of_kind("ConfigMap") + of_kind("Secret")}
    for spec in pod_specs():
        for container in spec["containers"]:
            refs = container["envFrom"]
            used = {r.get("configMapRef", r.get("secretRef"))["name"] for r in refs}
            assert used == names
            assert {e["name"] for e in container.get("env", [])} <= ALIASES


def parse(command: Any, argv: list[str], name: str = "stepdown") -> None:
    """Find the subcommand and parse its options as the CLI would; unknown ones raise."""
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        command.make_context(name, list(argv))
        return
    assert argv and argv[0] in subcommands, f"{name} has no command {argv[:1]}"
    parse(subcommands[argv[0]], argv[1:], argv[0])


def test_every_command_is_a_real_cli_command():
    group = typer.main.get_command(app)
    commands = [s["command"] for s in app_services().values()]
    commands += [c["command"] for spec in pod_specs() for c in spec["containers"]]
    commands.append(dockerfile_cmd())
    for argv in commands:
        assert argv[0] == "stepdown"
        parse(group, argv[1:])


def dockerfile_cmd() -> list[str]:
    text = (DEPLOY / "Dockerfile").read_text()
    [line] = [line for line in text.splitlines() if line.startswith("CMD ")]
    return list(yaml.safe_load(line.removeprefix("CMD ")))


def test_the_dockerfile_builds_from_python_311_as_a_non_root_user():
    lines = [ln for ln in (DEPLOY / "Dockerfile").read_text().splitlines() if ln and ln[0] != "#"]

    assert lines[0].startswith("FROM python:3.11")
    assert any(ln.startswith("USER ") and "root" not in ln for ln in lines)


def test_selectors_match_pod_labels_and_the_hpa_targets_the_workers():
    for deployment in of_kind("Deployment"):
        spec = deployment["spec"]
        labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= labels.items()
    [service] = of_kind("Service")
    [api] = [d for d in of_kind("Deployment") if d["metadata"]["name"] == "stepdown-api"]
    api_labels = api["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= api_labels.items()
    [scaled] = of_kind("ScaledObject")
    assert scaled["spec"]["scaleTargetRef"]["name"] == "stepdown-worker"
    assert scaled["spec"]["minReplicaCount"] < scaled["spec"]["maxReplicaCount"]


def test_the_kustomization_lists_every_manifest():
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    # temporal-values.yaml is the values file of Temporal's Helm chart, not a manifest.
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", HELM_VALUES.name}

    assert set(kustomization["resources"]) == manifests


def test_env_example_names_every_variable_compose_needs():
    text = (DEPLOY / "docker-compose.yml").read_text()
    needed = set(re.findall(r"\$\{([A-Z_]+)", text))
    example = (DEPLOY / ".env.example").read_text()
    documented = {line.split("=", 1)[0] for line in example.splitlines() if "=" in line}

    assert needed <= documented, needed - documented


def test_the_cluster_and_the_dev_stack_run_activities_eagerly(tmp_path: Path) -> None:
    """The decision path was measured with eager activity execution (docs/benchmarks.md):
    the cluster's Helm values and `stepdown dev`'s server both switch it on."""
    values = yaml.safe_load(HELM_VALUES.read_text())
    assert values["server"]["dynamicConfig"][EAGER_ACTIVITIES] == [{"value": True}]
    stack = DevStack(Settings(STEPDOWN_DEV="1", STEPDOWN_DATA_DIR=str(tmp_path)), Console())
    argv = stack._temporal_argv()
    at = argv.index("--dynamic-config-value")
    assert argv[at + 1] == f"{EAGER_ACTIVITIES}=true"
