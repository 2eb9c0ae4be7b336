"""deploy/ checked by the tools that read it: every Kubernetes object against the API schema
of its kind (kubernetes-validate ships them), the kustomizations as `kubectl kustomize`
renders them, and the Dockerfile as dockerfile-parse reads it (every path it copies exists,
its probes hit real routes on the port it serves). The image build runs where a Docker
engine answers; otherwise it is skipped with the reason."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import yaml
from dockerfile_parse import DockerfileParser

from api.app import create_app
from tests.deploy.test_manifests import DEPLOY, K8S, app_services, of_kind
from tests.support.api_stack import api_settings

ROOT = DEPLOY.parent
CLOUD = DEPLOY / "k8s-cloud"
# The Kubernetes release the manifests are written for (the kubectl client here is 1.32).
KUBERNETES = "1.32.0"
# Custom resources of KEDA: no schema ships with kubernetes-validate; checked by hand below.
KEDA = {"ScaledObject", "TriggerAuthentication"}


def validate(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES, strict=True)


def manifest_documents() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("apiVersion", "").startswith("kustomize.config.k8s.io"):
                continue
            if doc and doc.get("kind") in KEDA:
                continue
            if doc and "kind" in doc and path.name != "temporal-values.yaml":
                found.append((f"{path.name}:{doc['kind']}/{doc['metadata']['name']}", doc))
    return found


@pytest.mark.parametrize(
    "doc", [d for _, d in manifest_documents()], ids=[n for n, _ in manifest_documents()]
)
def test_each_manifest_is_valid_for_its_kind(doc: dict[str, Any]) -> None:
    validate(doc)


def test_the_validator_refuses_what_the_api_server_would() -> None:
    """The check can fail: a misspelt field and a wrong type are each refused."""
    [api] = [d for d in of_kind("Deployment") if d["metadata"]["name"] == "stepdown-api"]
    container = api["spec"]["template"]["spec"]["containers"][0]
    misspelt = json.loads(json.dumps(api))
    misspelt["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    wrong_type = json.loads(json.dumps(api))
    wrong_type["spec"]["replicas"] = "two"
    assert container["readinessProbe"]
    for broken in (misspelt, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            validate(broken)


def kustomize(directory: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed")
    rendered = subprocess.run(
        [kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60
    )
    assert rendered.returncode == 0, rendered.stderr
    return [doc for doc in yaml.safe_load_all(rendered.stdout) if doc]


@pytest.mark.parametrize("directory", [K8S, CLOUD], ids=["base", "cloud"])
def test_each_kustomization_renders_objects_valid_for_their_kind(directory: Path) -> None:
    docs = kustomize(directory)
    kinds = sorted(doc["kind"] for doc in docs)
    assert kinds.count("Deployment") == 2 and "Job" in kinds, kinds
    for doc in docs:
        if doc["kind"] not in KEDA:
            validate(doc)
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == "stepdown", doc["metadata"]
    images = {
        c["image"]
        for doc in docs
        if doc["kind"] in ("Deployment", "Job")
        for c in doc["spec"]["template"]["spec"]["containers"]
    }
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert images == {f"stepdown:{version}"}


def test_the_cloud_overlay_mounts_the_certificate_where_its_settings_point() -> None:
    docs = kustomize(CLOUD)
    [config] = [d for d in docs if d["kind"] == "ConfigMap"]
    cert = config["data"]["TEMPORAL_TLS_CLIENT_CERT_PATH"]
    for deployment in (d for d in docs if d["kind"] == "Deployment"):
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        mounts = [m["mountPath"] for m in container["volumeMounts"]]
        assert any(cert.startswith(m + "/") for m in mounts), deployment["metadata"]["name"]


def test_keda_objects_name_real_targets() -> None:
    deployments = {d["metadata"]["name"] for d in of_kind("Deployment")}
    for scaled in of_kind("ScaledObject"):
        assert scaled["apiVersion"] == "keda.sh/v1alpha1"
        assert scaled["spec"]["scaleTargetRef"]["name"] in deployments
    docs = kustomize(CLOUD)
    auths = {d["metadata"]["name"] for d in docs if d["kind"] == "TriggerAuthentication"}
    for scaled in (d for d in docs if d["kind"] == "ScaledObject"):
        for trigger in scaled["spec"]["triggers"]:
            assert trigger["authenticationRef"]["name"] in auths


# ---- the Dockerfile ------------------------------------------------------------------------


def dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(DEPLOY / "Dockerfile"), cache_content=True)


def instructions(name: str) -> list[str]:
    return [i["value"] for i in dockerfile().structure if i["instruction"] == name]


def routes() -> set[str]:
    """The API's paths, as its OpenAPI document lists them (the probes' routes are in it)."""
    return set(create_app(api_settings()).openapi()["paths"])


def test_every_path_the_dockerfile_copies_from_the_context_exists() -> None:
    copies = [shlex.split(value) for value in instructions("COPY")]
    from_context = [args for args in copies if not args[0].startswith("--from=")]
    assert from_context, "the build copies from the context"
    for *sources, _ in from_context:
        for source in sources:
            assert (ROOT / source).exists(), f"COPY {source}: not in the build context"
    stages = {m.group(1) for m in re.finditer(r" AS (\S+)", " ".join(instructions("FROM")))}
    for args in copies:
        if args[0].startswith("--from="):
            assert args[0].removeprefix("--from=") in stages, args


def test_the_dependency_layer_creates_every_package_pyproject_names() -> None:
    """The first `pip install .` runs on a skeleton: a package missing from it fails the build."""
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    packages = {p.rstrip("*") for p in setuptools["packages"]["find"]["include"]}
    [skeleton] = [v for v in instructions("RUN") if v.startswith("mkdir -p")]
    words = set(skeleton.split())
    assert packages <= words, packages - words
    assert {f"{m}.py" for m in setuptools["py-modules"]} <= words


def test_the_image_probe_hits_a_real_route_on_the_port_it_serves() -> None:
    [exposed] = instructions("EXPOSE")
    cmd = json.loads(instructions("CMD")[-1])
    assert cmd[cmd.index("--port") + 1] == exposed
    [healthcheck] = instructions("HEALTHCHECK")
    assert "deploy/healthcheck.py" in healthcheck
    default = re.search(r'DEFAULT_URL = "([^"]+)"', (DEPLOY / "healthcheck.py").read_text())
    assert default is not None
    url = urlsplit(default.group(1))
    assert (url.port, url.path) == (int(exposed), "/healthz")
    assert url.path in routes()


def test_the_kubernetes_and_compose_probes_hit_real_routes_on_the_served_port() -> None:
    paths = routes()
    [api] = [d for d in of_kind("Deployment") if d["metadata"]["name"] == "stepdown-api"]
    [container] = api["spec"]["template"]["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    served = container["command"][container["command"].index("--port") + 1]
    probe = container["readinessProbe"]["httpGet"]
    assert probe["path"] in paths
    assert str(ports[probe["port"]]) == served
    assert str(ports[container["livenessProbe"]["tcpSocket"]["port"]]) == served

    compose_api = app_services()["api"]
    check = urlsplit(compose_api["healthcheck"]["test"][-1])
    compose_port = compose_api["command"][compose_api["command"].index("--port") + 1]
    assert check.path in paths
    assert str(check.port) == compose_port


def docker_engine() -> str | None:
    docker = shutil.which("docker")
    if docker is None:
        return None
    info = subprocess.run([docker, "info"], capture_output=True, timeout=30)
    return docker if info.returncode == 0 else None


@pytest.mark.slow
def test_the_image_builds() -> None:
    docker = docker_engine()
    if docker is None:
        pytest.skip("no Docker engine answers here (`docker info` fails): the build is not run")
    built = subprocess.run(
        [docker, "build", "-f", str(DEPLOY / "Dockerfile"), "-t", "stepdown:test", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert built.returncode == 0, built.stderr[-3000:]
