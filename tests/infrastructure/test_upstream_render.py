"""Render the pinned UPSTREAM charts with the project's values and check what they would create.

Upstream charts are not in this repository (and cannot be downloaded on the development
machine), so this runs only when ``LAKEHOUSE_UPSTREAM_CHARTS`` names a folder holding the charts
unpacked as ``<release>/Chart.yaml`` - e.g. after
``helm pull <repo>/<chart> --version <pinned> --untar --untardir "$LAKEHOUSE_UPSTREAM_CHARTS"``,
which the kind-e2e CI workflow does. Rendering is offline (helm-python-sdk, no cluster); the
rendered manifests get the checks the project's own get: Kubernetes schema (not strict here: an
upstream chart may carry fields the bundled schema lacks), the restricted Pod Security Standard,
and no plaintext secret in an env var. The rendering itself is in upstream_charts.py;
test_upstream_references.py checks the names, ports, labels and Secrets the project relies on.
"""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from tests.infrastructure import infra_checks as checks
from tests.infrastructure.upstream_charts import chart_dir, check_schemas_offline, render

RELEASES = ["minio", "polaris", "trino", "dagster", "seaweedfs", "superset"]


@pytest.mark.parametrize("name", RELEASES)
def test_upstream_chart_renders_restricted_pods_without_plain_secrets(name: str) -> None:
    docs = render(name)
    assert docs, f"{name} rendered nothing"
    assert checks.manifest_restricted_violations(docs) == []
    assert checks.manifest_env_violations(docs) == []
    for doc in docs:
        if doc.get("kind") == "Secret":
            # Only Secrets the chart derives from references (never generated from values literals).
            assert name != "minio", "MinIO must use existingSecret, not render its own root Secret"


@pytest.mark.parametrize("name", RELEASES)
def test_upstream_chart_output_validates_against_kubernetes_schema(name: str) -> None:
    for doc in render(name):
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


def test_trino_catalog_configmap_has_only_env_references() -> None:
    docs = render("trino")
    (catalogs,) = [
        d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("catalog")
    ]
    assert checks.trino_catalog_violations(catalogs["data"], "trino catalog ConfigMap") == []
    assert "iceberg.properties" in catalogs["data"]


def test_superset_names_and_labels_are_what_the_platform_uses() -> None:
    """The Service, the pods' NetworkPolicy labels, the init Job and the Secrets the pinned chart
    really renders with values/superset.yaml (charts.yaml services:, network-policies.yaml, up.sh)."""
    docs = render("superset")
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for doc in docs:
        by_kind.setdefault(doc["kind"], {})[doc["metadata"]["name"]] = doc
    service = by_kind["Service"]["superset"]
    assert [p["port"] for p in service["spec"]["ports"]] == [8088]
    web = by_kind["Deployment"]["superset"]["spec"]["template"]
    assert web["metadata"]["labels"][checks.COMPONENT] == "superset"
    assert service["spec"]["selector"].items() <= web["metadata"]["labels"].items()
    # charts.yaml install_order: the init Job runs after every install and upgrade.
    hooks = by_kind["Job"]["superset-init-db"]["metadata"]["annotations"]["helm.sh/hook"]
    assert hooks.split(",") == ["post-install", "post-upgrade"]
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


@pytest.mark.parametrize(
    ("key", "bad"),
    [
        # A field of the chart's own schema (dagster-user-deployments: a name is a string).
        ("dagster-user-deployments", {"deployments": [{"name": 3}]}),
        # A field typed by the remote Kubernetes definitions (PodSecurityContext).
        ("dagsterWebserver", {"podSecurityContext": {"runAsNonRoot": "yes"}}),
    ],
)
def test_dagster_offline_schema_check_refuses_what_helm_refuses(key, bad) -> None:
    """The dagster chart is schema-checked offline (upstream_charts.py): values its schemas
    reject must be refused, so its passing the project's values means something."""
    import helm_python

    path = chart_dir("dagster")
    values = yaml.safe_load((checks.VALUES_DIR / "dagster.yaml").read_text())
    chart = helm_python.Chart.load(path)
    check_schemas_offline(path, chart, values)
    with pytest.raises(AssertionError, match="is not of type"):
        check_schemas_offline(path, chart, {**values, key: {**values[key], **bad}})
