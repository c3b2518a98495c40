"""The Helm values files (infrastructure/helm/values/*.yaml) and their pins (charts.yaml)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from lakehouse.maintenance.settings import maintainer_settings
from lakehouse.platform import charts as platform_charts
from lakehouse.platform import secrets as platform_secrets
from lakehouse.settings import Settings
from tests.infrastructure import infra_checks as checks
from tests.infrastructure.trino_access import catalog_access

VALUES_FILES = ["dagster", "minio", "polaris", "seaweedfs", "superset", "trino"]

# The environment contract of the code location and run pods (lakehouse/settings.py).
PLAIN_CONTRACT = {
    "LAKEHOUSE_PROFILE": "k8s",
    "LAKEHOUSE_DATA_DIR": "/tmp/lakehouse",
    "ICEBERG_REST_URI": "http://polaris:8181/api/catalog",
    "ICEBERG_REST_WAREHOUSE": "lakehouse",
    "ICEBERG_REST_SCOPE": "PRINCIPAL_ROLE:ALL",
    "S3_ENDPOINT": "http://minio:9000",
    "AWS_REGION": "us-east-1",
    "S3_PATH_STYLE_ACCESS": "true",
    "LAKEHOUSE_WAREHOUSE_URI": "s3://lakehouse/warehouse",
    "TRINO_HOST": "trino",
    "TRINO_PORT": "8080",
    "TRINO_USER": "dbt",
    "TRINO_CATALOG": "iceberg",
}
SECRET_CONTRACT = {
    "ICEBERG_REST_CLIENT_ID": ("polaris-ingestion-writer", "client-id"),
    "ICEBERG_REST_CLIENT_SECRET": ("polaris-ingestion-writer", "client-secret"),
    "AWS_ACCESS_KEY_ID": ("lakehouse-s3", "AWS_ACCESS_KEY_ID"),
    "AWS_SECRET_ACCESS_KEY": ("lakehouse-s3", "AWS_SECRET_ACCESS_KEY"),
}


def test_every_values_file_parses(values: dict[str, Any]) -> None:
    assert sorted(values) == VALUES_FILES
    for name, doc in values.items():
        assert isinstance(doc, dict) and doc, name


def test_every_values_file_has_an_exact_chart_pin(charts: dict[str, Any]) -> None:
    assert checks.chart_pin_violations(charts, checks.VALUES_DIR) == []
    releases = platform_charts.releases(checks.CHARTS_FILE)
    assert {r.values.stem for r in releases.values()} == set(VALUES_FILES)


@pytest.mark.parametrize("name", VALUES_FILES)
def test_every_key_says_why(name: str, values_text: dict[str, str]) -> None:
    assert checks.uncommented_keys(values_text[name]) == []


@pytest.mark.parametrize("name", VALUES_FILES)
def test_no_literal_credential(name: str, values: dict[str, Any], known_secrets) -> None:
    public = {value for spec in platform_secrets.SPECS for value in spec.constants.values()}
    assert checks.literal_credential_violations(values[name], name, known_secrets, public) == []


@pytest.mark.parametrize("name", VALUES_FILES)
def test_secret_env_vars_come_from_secrets(
    name: str, values: dict[str, Any], known_secrets
) -> None:
    assert checks.values_env_violations(values[name], name) == []
    for secret, key in checks.secret_key_refs(values[name]):
        assert secret in known_secrets and key in known_secrets[secret], f"{name}: {secret}/{key}"


def test_trino_catalogs_hold_only_env_references_for_credentials(values: dict[str, Any]) -> None:
    catalogs = values["trino"]["catalogs"]
    assert checks.trino_catalog_violations(catalogs, "trino") == []
    iceberg = dict(line.split("=", 1) for line in catalogs["iceberg"].strip().splitlines())
    assert iceberg["connector.name"] == "iceberg"
    assert iceberg["iceberg.catalog.type"] == "rest"
    assert iceberg["iceberg.rest-catalog.uri"] == "http://polaris:8181/api/catalog"
    assert iceberg["iceberg.rest-catalog.warehouse"] == "lakehouse"
    assert iceberg["iceberg.rest-catalog.security"] == "OAUTH2"
    assert iceberg["iceberg.rest-catalog.vended-credentials-enabled"] == "false"
    # Trino 480's name; `fs.native-s3.enabled` is its legacy spelling (issue 12, defect 7).
    assert iceberg["fs.s3.enabled"] == "true"
    for text in catalogs.values():
        assert "fs.native-s3.enabled" not in text
    assert iceberg["s3.path-style-access"] == "true"
    assert iceberg["s3.endpoint"] == "http://minio:9000"
    assert iceberg["s3.region"] == "us-east-1"


def test_trino_env_provides_every_referenced_variable(
    values: dict[str, Any], known_secrets
) -> None:
    trino = values["trino"]
    provided = {var["name"] for var in trino["env"]}
    for source in trino["envFrom"]:
        provided |= known_secrets[source["secretRef"]["name"]]
    referenced = set()
    for text in trino["catalogs"].values():
        referenced |= set(re.findall(r"\$\{ENV:([A-Za-z0-9_]+)\}", text))
    assert referenced and referenced <= provided


def test_trino_is_one_coordinator_with_heap_tied_to_its_limit(values: dict[str, Any]) -> None:
    trino = values["trino"]
    coordinator = trino["coordinator"]
    assert trino["server"]["workers"] == 0
    assert coordinator["config"]["nodeScheduler"]["includeCoordinator"] is True
    assert coordinator["jvm"]["maxHeapSize"] is None
    percent = coordinator["jvm"]["maxHeapPercent"]
    assert 70 <= percent <= 80
    limit_gib = _gib(coordinator["resources"]["limits"]["memory"])
    heap_gb = limit_gib * percent / 100 * 1024**3 / 1e9
    needed = _gb(coordinator["config"]["memory"]["heapHeadroomPerNode"]) + _gb(
        coordinator["config"]["query"]["maxMemoryPerNode"]
    )
    assert needed < heap_gb, (
        f"headroom + per-node query memory {needed} GB >= heap {heap_gb:.2f} GB"
    )
    assert _gb(trino["server"]["config"]["query"]["maxMemory"]) <= _gb(
        coordinator["config"]["query"]["maxMemoryPerNode"]
    )


def test_dagster_code_location_env_contract(values: dict[str, Any]) -> None:
    dagster = values["dagster"]
    (deployment,) = dagster["dagster-user-deployments"]["deployments"]
    env = {var["name"]: var for var in deployment["env"]}
    for name, value in PLAIN_CONTRACT.items():
        assert env[name].get("value") == value, name
    for name, (secret, key) in SECRET_CONTRACT.items():
        assert env[name]["valueFrom"]["secretKeyRef"] == {"name": secret, "key": key}, name
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "orchestration.definitions", "-a", "defs"]
    assert deployment["image"]["pullPolicy"] == "IfNotPresent"
    # Off: runs get their own resources and labels (test_run_pod.py), the same env by YAML anchor.
    assert deployment["includeConfigInLaunchedRuns"]["enabled"] is False


def test_dagster_runs_on_k8s_with_the_projects_postgres(values: dict[str, Any]) -> None:
    dagster = values["dagster"]
    launcher = dagster["runLauncher"]
    assert launcher["type"] == "K8sRunLauncher"
    assert launcher["config"]["k8sRunLauncher"]["imagePullPolicy"] == "IfNotPresent"
    assert dagster["postgresql"]["enabled"] is False
    assert dagster["postgresql"]["postgresqlHost"] == "lakehouse-postgres"
    assert dagster["generatePostgresqlPasswordSecret"] is False
    assert dagster["global"]["postgresqlSecretName"] == "dagster-postgresql-secret"
    assert "postgresqlPassword" not in dagster["postgresql"]
    assert dagster["postgresql"]["image"] == {"tag": "17.6-alpine"}  # chart's library/postgres kept


def test_polaris_persistent_metastore_and_fixed_realm(values: dict[str, Any]) -> None:
    polaris = values["polaris"]
    assert polaris["persistence"]["type"] == "relational-jdbc"
    assert polaris["persistence"]["relationalJdbc"]["secret"]["name"] == "polaris-persistence"
    assert polaris["realmContext"]["realms"] == ["POLARIS"]
    assert polaris["authentication"]["tokenBroker"]["secret"]["name"] == "polaris-token-broker"


def test_minio_single_node_with_bucket_and_no_default_user(values: dict[str, Any]) -> None:
    minio = values["minio"]
    assert minio["mode"] == "standalone" and minio["replicas"] == 1
    assert minio["existingSecret"] == "minio-root"
    assert [b["name"] for b in minio["buckets"]] == ["lakehouse"]
    assert all(b["purge"] is False for b in minio["buckets"])
    for user in minio["users"]:
        assert "secretKey" not in user and user["existingSecret"] == "lakehouse-s3"
    assert not minio["image"]["tag"].endswith("latest")


# The pod and container security contexts each chart is given, per component: together with the
# chart's own defaults (documented next to each value) they meet the restricted standard.
SECURITY_CONTEXTS = {
    "minio server": ("minio", ["securityContext"], ["containerSecurityContext"]),
    "minio post-job (bucket)": (
        "minio",
        ["postJob", "securityContext"],
        ["makeBucketJob", "containerSecurityContext"],
    ),
    "minio post-job (user)": (
        "minio",
        ["postJob", "securityContext"],
        ["makeUserJob", "containerSecurityContext"],
    ),
    "minio post-job (policy)": (
        "minio",
        ["postJob", "securityContext"],
        ["makePolicyJob", "containerSecurityContext"],
    ),
    "trino coordinator": ("trino", ["securityContext"], None),
    "dagster webserver": (
        "dagster",
        ["dagsterWebserver", "podSecurityContext"],
        ["dagsterWebserver", "securityContext"],
    ),
    "dagster daemon": (
        "dagster",
        ["dagsterDaemon", "podSecurityContext"],
        ["dagsterDaemon", "securityContext"],
    ),
    "dagster code location": (
        "dagster",
        ["dagster-user-deployments", "deployments", 0, "podSecurityContext"],
        ["dagster-user-deployments", "deployments", 0, "securityContext"],
    ),
    "dagster run pod": (
        "dagster",
        [
            "runLauncher",
            "config",
            "k8sRunLauncher",
            "runK8sConfig",
            "podSpecConfig",
            "securityContext",
        ],
        ["runLauncher", "config", "k8sRunLauncher", "securityContext"],
    ),
    "seaweedfs all-in-one": (
        "seaweedfs",
        ["allInOne", "podSecurityContext"],
        ["allInOne", "containerSecurityContext"],
    ),
}
# Chart defaults that the values files rely on (read from each chart at its pinned version).
CHART_DEFAULT_CONTAINER_CONTEXT = {
    # trino 1.42.2 values.yaml: containerSecurityContext
    "trino": {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}},
    # polaris 1.7.0 values.yaml: podSecurityContext / containerSecurityContext (not overridden)
}


def _get(doc: Any, path: list[Any]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


@pytest.mark.parametrize("component", sorted(SECURITY_CONTEXTS))
def test_chart_security_contexts_meet_the_restricted_standard(
    component: str, values: dict[str, Any]
) -> None:
    name, pod_path, container_path = SECURITY_CONTEXTS[component]
    pod_ctx = {k: v for k, v in _get(values[name], pod_path).items() if k != "enabled"}
    if container_path is None:
        container_ctx = CHART_DEFAULT_CONTAINER_CONTEXT[name]
    else:
        container_ctx = {
            k: v for k, v in _get(values[name], container_path).items() if k != "enabled"
        }
    pod = {
        "securityContext": pod_ctx,
        "containers": [{"name": "main", "image": "x:1", "securityContext": container_ctx}],
    }
    assert checks.restricted_violations(pod, component) == []


def test_polaris_keeps_the_charts_restricted_defaults(values: dict[str, Any]) -> None:
    # Polaris 1.7.0's chart defaults already meet `restricted` (uid 10000, drop ALL, RuntimeDefault);
    # overriding them here would risk weakening them, so the values file must not.
    assert "podSecurityContext" not in values["polaris"]
    assert "containerSecurityContext" not in values["polaris"]


def test_every_component_carries_the_network_policy_label(component_labels) -> None:
    expected = {
        "postgres", "s3", "polaris", "polaris-realm-bootstrap", "polaris-bootstrap", "trino",
        "dagster-webserver", "dagster-daemon", "code-location", "dagster-run", "dbt-docs",
        "superset", "superset-init",
    }  # fmt: skip
    assert set(component_labels) == expected
    for component, labels in component_labels.items():
        assert labels[checks.COMPONENT] == component


def _gib(quantity: str) -> float:
    units = {"Mi": 1 / 1024, "Gi": 1.0}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[: -len(suffix)]) * factor
    raise ValueError(quantity)


def _gb(size: str) -> float:
    units = {"MB": 1e-3, "GB": 1.0}
    for suffix, factor in units.items():
        if size.endswith(suffix):
            return float(size[: -len(suffix)]) * factor
    raise ValueError(size)


def test_dagster_images_are_pinned_in_values(values: dict[str, Any], charts) -> None:
    """Not left to the chart version (issue 12, defect 7): the tag equals the pinned release."""
    dagster = values["dagster"]
    release = next(r for r in charts["releases"] if r["name"] == "dagster")
    for component in ("dagsterWebserver", "dagsterDaemon"):
        tag = dagster[component]["image"]["tag"]
        assert tag == release["version"], component
        assert f"docker.io/dagster/dagster-celery-k8s:{tag}" in release["images"]


def test_only_the_maintenance_user_may_use_the_maintenance_catalog(
    values: dict[str, Any], trino_rules: dict[str, Any]
) -> None:
    """``iceberg_maintenance`` writes as Polaris' table_maintainer (review finding, issue 14):
    Trino refuses it to every user but the one the maintenance job connects as."""
    settings = maintainer_settings(
        Settings.from_env({**PLAIN_CONTRACT, **{k: "x" for k in SECRET_CONTRACT}}),
        {"MAINTENANCE_CLIENT_ID": "id", "MAINTENANCE_CLIENT_SECRET": "secret"},
    )
    assert settings.trino is not None
    maintenance, maintainer = settings.trino.catalog, settings.trino.user
    assert maintenance in values["trino"]["catalogs"]
    assert catalog_access(trino_rules, maintainer, maintenance) == "all"
    others = {
        PLAIN_CONTRACT["TRINO_USER"],
        "trino_reader",
        "superset",
        "admin",
        "table_maintainer2",
    }
    for user in others:
        assert catalog_access(trino_rules, user, maintenance) == "none", user


def test_the_other_catalogs_stay_open_as_before(
    values: dict[str, Any], trino_rules: dict[str, Any]
) -> None:
    dbt = PLAIN_CONTRACT["TRINO_USER"]
    for catalog in (*values["trino"]["catalogs"], "system", "tpch"):
        if catalog != "iceberg_maintenance":
            assert catalog_access(trino_rules, dbt, catalog) == "all", catalog
    assert trino_rules["system_information"] == [{"allow": ["read"]}]
