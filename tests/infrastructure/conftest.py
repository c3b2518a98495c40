"""Fixtures of the static platform tests: the project's manifests, values files and chart pins.

Nothing here needs Docker, a cluster or a helm binary: files are parsed, validated against the
Kubernetes JSON schemas bundled with ``kubernetes-validate`` and checked by the functions in
``infra_checks``. The real install happens in CI (.github/workflows/kind-e2e.yml).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from lakehouse.platform import secrets as platform_secrets
from tests.infrastructure import infra_checks as checks


@pytest.fixture(scope="session")
def charts() -> dict[str, Any]:
    return yaml.safe_load(checks.CHARTS_FILE.read_text())


@pytest.fixture(scope="session")
def manifest_files() -> dict[str, list[dict[str, Any]]]:
    """Every YAML file under infrastructure/kubernetes, parsed (file name -> documents)."""
    return {path.name: checks.load_docs(path) for path in sorted(checks.K8S_DIR.glob("*.yaml"))}


@pytest.fixture(scope="session")
def manifests(manifest_files: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [doc for docs in manifest_files.values() for doc in docs]


@pytest.fixture(scope="session")
def values_text() -> dict[str, str]:
    return {path.stem: path.read_text() for path in sorted(checks.VALUES_DIR.glob("*.yaml"))}


@pytest.fixture(scope="session")
def values(values_text: dict[str, str]) -> dict[str, Any]:
    return {name: yaml.safe_load(text) for name, text in values_text.items()}


@pytest.fixture(scope="session")
def trino_rules(values: dict[str, Any]) -> dict[str, Any]:
    """Trino's access-control rules file, as the chart mounts it (``accessControl.rules``)."""
    access = values["trino"]["accessControl"]
    assert access["type"] == "configmap"  # the chart then sets access-control.name=file
    return json.loads(access["rules"][access["configFile"]])


@pytest.fixture(scope="session")
def network_policies(manifest_files: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return manifest_files["network-policies.yaml"]


@pytest.fixture(scope="session")
def known_secrets() -> dict[str, set[str]]:
    """Secret name -> keys, for every Secret the platform creates (generator + Polaris bootstrap)."""
    # Each spec's keys as the generator builds them (derived keys included: polaris-root's
    # credentials.yaml, lakehouse-mlflow's tracking-uri).
    known = {
        spec.name: set(spec.build({}, rotate=False, new=lambda: "generated"))
        for spec in platform_secrets.SPECS
    }
    for name in platform_secrets.PRINCIPAL_SECRETS:
        known[name] = {"client-id", "client-secret"}
    return known


@pytest.fixture(scope="session")
def component_labels(
    manifests: list[dict[str, Any]], values: dict[str, Any]
) -> dict[str, dict[str, str]]:
    """Pod labels of every component, read from where each one is set (manifests, values files)."""
    labels: dict[str, dict[str, str]] = {}
    for doc in manifests:
        for _ in checks.pod_specs(doc):
            template = doc["spec"]["template"] if doc["kind"] != "Pod" else doc
            pod_labels = template["metadata"].get("labels") or {}
            if checks.COMPONENT in pod_labels:
                labels[pod_labels[checks.COMPONENT]] = dict(pod_labels)
    dagster = values["dagster"]
    labels["s3"] = dict(values["minio"]["podLabels"])
    labels["polaris"] = dict(values["polaris"]["podLabels"])
    labels["trino"] = dict(values["trino"]["coordinator"]["labels"])
    labels["dagster-webserver"] = dict(dagster["dagsterWebserver"]["labels"])
    labels["dagster-daemon"] = dict(dagster["dagsterDaemon"]["labels"])
    labels["code-location"] = dict(dagster["dagster-user-deployments"]["deployments"][0]["labels"])
    labels["superset"] = dict(values["superset"]["supersetNode"]["podLabels"])
    labels["superset-init"] = dict(values["superset"]["init"]["podLabels"])
    # dagster-k8s labels every run pod app.kubernetes.io/component=run_worker itself.
    labels["dagster-run"] = {
        **dagster["runLauncher"]["config"]["k8sRunLauncher"]["labels"],
        "app.kubernetes.io/component": "run_worker",
    }
    return labels


def values_path(name: str) -> Path:
    return checks.VALUES_DIR / f"{name}.yaml"
