"""Render the pinned UPSTREAM charts with the project's values and check what they would create.

Upstream charts are not in this repository (and cannot be downloaded on the development
machine), so this runs only when ``LAKEHOUSE_UPSTREAM_CHARTS`` names a folder holding the charts
unpacked as ``<release>/Chart.yaml`` - e.g. after
``helm pull <repo>/<chart> --version <pinned> --untar --untardir "$LAKEHOUSE_UPSTREAM_CHARTS"``,
which the kind-e2e CI workflow does. Rendering is offline (helm-python-sdk, no cluster); the
rendered manifests get the same checks as the project's own: Kubernetes schema (strict), the
restricted Pod Security Standard, and no plaintext secret in an env var.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.infrastructure import infra_checks as checks

UPSTREAM = os.environ.get("LAKEHOUSE_UPSTREAM_CHARTS", "")
RELEASES = ["minio", "polaris", "trino", "dagster", "seaweedfs", "superset"]
# Test hooks (`helm test`) are not installed by `make up`.
SKIP_SOURCES = ("/tests/",)


def _chart_dir(name: str) -> Path:
    if not UPSTREAM:
        pytest.skip(
            "LAKEHOUSE_UPSTREAM_CHARTS is not set: upstream charts are rendered in CI (kind-e2e)"
        )
    path = Path(UPSTREAM) / name
    if not (path / "Chart.yaml").is_file():
        pytest.skip(f"{path} holds no unpacked chart")
    return path


def render(name: str, charts: dict[str, Any]) -> list[dict[str, Any]]:
    import helm_python

    release = next(r for r in charts["releases"] if r["name"] == name)
    chart_dir = _chart_dir(name)
    chart = helm_python.Chart.load(chart_dir)
    assert chart.version == release["version"], (
        f"{chart_dir} is {chart.version}, pinned {release['version']}"
    )
    values = yaml.safe_load((checks.VALUES_DIR / f"{name}.yaml").read_text())
    rendered = chart.render(values, name=name, namespace=checks.NAMESPACE, is_install=True)
    docs = []
    for source, text in rendered.items():
        if any(part in source for part in SKIP_SOURCES) or not source.endswith((".yaml", ".yml")):
            continue
        for doc in checks.load_docs_text(text):
            doc.setdefault("metadata", {}).setdefault("annotations", {})
            docs.append(doc)
    return docs


@pytest.mark.parametrize("name", RELEASES)
def test_upstream_chart_renders_restricted_pods_without_plain_secrets(name: str, charts) -> None:
    docs = render(name, charts)
    assert docs, f"{name} rendered nothing"
    assert checks.manifest_restricted_violations(docs) == []
    assert checks.manifest_env_violations(docs) == []
    for doc in docs:
        if doc.get("kind") == "Secret":
            # Only Secrets the chart derives from references (never generated from values literals).
            assert name != "minio", "MinIO must use existingSecret, not render its own root Secret"


@pytest.mark.parametrize("name", RELEASES)
def test_upstream_chart_output_validates_against_kubernetes_schema(name: str, charts) -> None:
    for doc in render(name, charts):
        if "apiVersion" not in doc or "monitoring.coreos.com" in doc["apiVersion"]:
            continue
        try:
            kubernetes_validate.validate(doc, checks.KUBE_VERSION, strict=False)
        except kubernetes_validate.SchemaNotFoundError:
            continue
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(
                f"{name} {checks.where(doc)}: {'.'.join(map(str, exc.path))}: {exc.message}"
            )


def test_trino_catalog_configmap_has_only_env_references(charts) -> None:
    docs = render("trino", charts)
    (catalogs,) = [
        d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("catalog")
    ]
    assert checks.trino_catalog_violations(catalogs["data"], "trino catalog ConfigMap") == []
    assert "iceberg.properties" in catalogs["data"]


def test_superset_names_and_labels_are_what_the_platform_uses(charts) -> None:
    """The Service, the pods' NetworkPolicy labels, the init Job and the Secrets the pinned chart
    really renders with values/superset.yaml (charts.yaml services:, network-policies.yaml, up.sh)."""
    docs = render("superset", charts)
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    service = by_kind["Service"]["superset"]
    assert [p["port"] for p in service["spec"]["ports"]] == [8088]
    web = by_kind["Deployment"]["superset"]["spec"]["template"]
    assert web["metadata"]["labels"][checks.COMPONENT] == "superset"
    assert service["spec"]["selector"].items() <= web["metadata"]["labels"].items()
    init = by_kind["Job"]["superset-init-db"]["spec"]["template"]
    assert init["metadata"]["labels"][checks.COMPONENT] == "superset-init"
    for pod in (web, init):
        (container,) = pod["spec"]["containers"]
        assert container["image"] == "lakehouse-superset:dev"
        assert {"secretRef": {"name": "lakehouse-superset"}} in container["envFrom"]
        assert not pod["spec"].get("initContainers")
    # Only the config Secret (no credential in it): no env Secret, no bundled database or cache.
    assert set(by_kind.get("Secret", {})) == {"superset-config"}
    assert "StatefulSet" not in by_kind
    config = by_kind["Secret"]["superset-config"]["stringData"]["superset_config.py"]
    assert 'SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]' in config
    assert by_kind["Deployment"]["superset-worker"]["spec"]["replicas"] == 0
