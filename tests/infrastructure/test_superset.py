"""Superset in the cluster: its values, Secret, image, dashboards ConfigMap and Trino user.

Static like the rest of this folder (no cluster, no Superset server): the values are checked
against the Secret the generator writes, the configuration the chart appends is executed as
Python, the bundle ConfigMap is validated against the Kubernetes schema, and Trino's access
rules for the user `superset` are evaluated with the semantics of Trino's file-based system
access control. The chart itself is rendered in test_upstream_render.py (CI), and installed by
the kind-e2e workflow, which also runs infrastructure/scripts/superset_check.py.
"""

from __future__ import annotations

import base64
import re
import zipfile
from io import BytesIO
from typing import Any

import kubernetes_validate
import pytest
import yaml
from sqlalchemy.engine import make_url

from analytics import cluster
from analytics.spec import Chart, Dashboard, Dataset, Spec, load_spec
from lakehouse.platform import charts as platform_charts
from lakehouse.platform import secrets as platform_secrets
from tests.infrastructure import infra_checks as checks
from tests.infrastructure.trino_access import ALL_PRIVILEGES, table_privileges, visible_schemas

SUPERSET_DOCKERFILE = (checks.INFRA / "docker" / "superset.Dockerfile").read_text()


@pytest.fixture(scope="module")
def superset_values(values: dict[str, Any]) -> dict[str, Any]:
    return values["superset"]


@pytest.fixture(scope="module")
def secret_keys() -> set[str]:
    spec = next(s for s in platform_secrets.SPECS if s.name == platform_secrets.SUPERSET_SECRET)
    return set(spec.generated) | set(spec.constants)


def env_names(text: str) -> set[str]:
    """Variables a shell script (`$X`, `${X}`) or Python (`os.environ["X"]`) reads."""
    shell = re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)", text)
    python = re.findall(r"os\.environ\[\"([A-Z_][A-Z0-9_]*)\"\]", text)
    return set(shell) | set(python)


# ------------------------------------------------------------------------------------------------
# Values: the Secret, the metadata DB, the init Job
# ------------------------------------------------------------------------------------------------
def test_pods_read_the_generated_secret_and_the_chart_renders_none(
    superset_values, secret_keys
) -> None:
    assert superset_values["envFromSecret"] == platform_secrets.SUPERSET_SECRET
    assert superset_values["secretEnv"]["create"] is False
    assert secret_keys == {
        "SUPERSET_SECRET_KEY", "SUPERSET_DB_PASSWORD", "SUPERSET_ADMIN_PASSWORD", "SUPERSET_ADMIN_USER",
    }  # fmt: skip


def test_every_variable_the_config_and_init_script_read_is_a_key_of_the_secret(
    superset_values, secret_keys
) -> None:
    read = env_names(superset_values["init"]["initscript"])
    read |= env_names("\n".join(superset_values["configOverrides"].values()))
    assert read == secret_keys


# What the chart's own superset_config.py reads before configOverrides run, with no default:
# `RESULTS_BACKEND = RedisCache(host=env('REDIS_HOST'), port=env('REDIS_PORT'), ...)`, rendered
# unconditionally by templates/_helpers.tpl (`superset-config`) of apache/superset helm/superset;
# cachelib's RedisCache raises on a None host, and the config would fail to import. (Read in the
# chart's template layout of the 0.15 line; the kind-e2e workflow renders the pinned release.)
CHART_CONFIG_READS = {"REDIS_HOST", "REDIS_PORT"}


def test_what_the_charts_config_reads_is_set_and_is_no_secret(superset_values, secret_keys) -> None:
    plain = superset_values["extraEnv"]
    assert set(plain) | secret_keys >= CHART_CONFIG_READS
    assert all(isinstance(value, str) and value for value in plain.values())
    assert not set(plain) & secret_keys  # plain values only, no credential


def test_no_credential_is_written_in_the_values(superset_values) -> None:
    assert superset_values["init"]["createAdmin"] is False  # else the chart templates a password
    text = (checks.VALUES_DIR / "superset.yaml").read_text()
    assert "adminUser" not in text and "db_pass" not in text and "SECRET_KEY =" in text
    assert re.search(r"SECRET_KEY = os\.environ\[", text)


def test_bundled_subcharts_are_off_and_the_image_is_the_projects(superset_values, charts) -> None:
    assert superset_values["postgresql"]["enabled"] is False
    assert superset_values["redis"]["enabled"] is False
    image = f"{superset_values['image']['repository']}:{superset_values['image']['tag']}"
    release = next(r for r in charts["releases"] if r["name"] == "superset")
    assert release["images"] == [image] == ["lakehouse-superset:dev"]
    assert superset_values["image"]["pullPolicy"] == "IfNotPresent"


def _config_module(superset_values, env: dict[str, str]) -> dict[str, Any]:
    """Execute the configuration the chart appends to superset_config.py, as Superset would."""
    scope: dict[str, Any] = {}
    code = "\n".join(superset_values["configOverrides"].values())
    import os

    saved = dict(os.environ)
    os.environ.update(env)
    try:
        exec(compile(code, "superset_config.py", "exec"), scope)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    return scope


def test_metadata_db_is_the_projects_postgres_with_the_secret_password(superset_values) -> None:
    password = "p@ss:w/rd?#%"  # characters a URL would misread if they were not quoted
    scope = _config_module(
        superset_values, {"SUPERSET_SECRET_KEY": "k", "SUPERSET_DB_PASSWORD": password}
    )
    url = make_url(scope["SQLALCHEMY_DATABASE_URI"])
    postgres = platform_charts.service("postgres", checks.CHARTS_FILE)
    assert (url.drivername, url.host, url.port) == (
        "postgresql+psycopg2",
        postgres.service,
        postgres.port,
    )
    assert (url.username, url.password, url.database) == ("superset", password, "superset")
    assert scope["SECRET_KEY"] == "k"
    assert scope["RESULTS_BACKEND"] is None  # no Redis
    assert scope["CACHE_CONFIG"]["CACHE_TYPE"] == "SimpleCache"


def test_config_refuses_to_start_without_the_secret(superset_values) -> None:
    with pytest.raises(KeyError, match="SUPERSET_SECRET_KEY"):
        _config_module(superset_values, {})


def test_postgres_creates_the_superset_database_from_the_same_secret(manifest_files) -> None:
    config_map, _, statefulset = manifest_files["postgres.yaml"]
    script = config_map["data"]["20-superset.sh"]
    assert "CREATE DATABASE superset OWNER superset" in script
    assert "ALTER ROLE superset LOGIN PASSWORD :'superset_password'" in script
    assert "WHERE NOT EXISTS" in script  # idempotent: make up runs it on every call
    (container,) = statefulset["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    ref = env["SUPERSET_DB_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert (ref["name"], ref["key"]) == (platform_secrets.SUPERSET_SECRET, "SUPERSET_DB_PASSWORD")


def test_init_job_imports_the_bundle_from_the_configmap_mount(superset_values) -> None:
    (volume,) = superset_values["extraVolumes"]
    (mount,) = superset_values["extraVolumeMounts"]
    assert volume["configMap"]["name"] == cluster.CONFIGMAP
    assert mount["name"] == volume["name"] and mount["readOnly"] is True
    script = superset_values["init"]["initscript"]
    bundle = f"{mount['mountPath']}/{cluster.BUNDLE_KEY}"
    # ImportAssetsCommand overwrites every object; `import-dashboards` keeps existing charts,
    # datasets and the connection (its importer passes overwrite=False for them, Superset 6.1.0
    # superset/commands/dashboard/importers/v1/__init__.py). Run for real against Superset 6.1.0
    # on SQLite by hand (2026-11-26): a re-run kept 4 dashboards, 17 charts, 8 datasets, 1
    # connection, applied an edited chart title and a rotated admin password.
    assert f"python - {bundle} <<'PY'" in script
    assert "ImportAssetsCommand(get_contents_from_bundle(bundle)).run()" in script
    assert "import-dashboards" not in script
    # The password reaches the prompts on stdin, never a command line that `ps` shows.
    assert "--password" not in script
    # Order: schema, roles, admin (the import assigns ownership to it), then the import.
    steps = [
        "superset db upgrade",
        "superset init",
        "superset fab create-admin",
        "superset fab reset-password",
        "ImportAssetsCommand(",
    ]
    assert [script.index(step) for step in steps] == sorted(script.index(s) for s in steps)
    assert script.startswith("#!/bin/sh\nset -eu")


def test_pods_are_labelled_for_their_network_policies(superset_values, network_policies) -> None:
    names = {p["metadata"]["name"]: p for p in network_policies}
    for labels, policy in (
        (superset_values["supersetNode"]["podLabels"], "superset"),
        (superset_values["init"]["podLabels"], "superset-init"),
    ):
        selector = names[policy]["spec"]["podSelector"]["matchLabels"]
        assert selector.items() <= labels.items()


def test_service_row_is_the_charts_fullname_on_the_service_port(superset_values) -> None:
    """helm/superset/templates/_helpers.tpl: `superset.fullname` is the release name when it
    contains the chart name; templates/service.yaml names the Service with it, on service.port."""
    row = platform_charts.service("superset", checks.CHARTS_FILE)
    release = platform_charts.resolve("superset", checks.CHARTS_FILE)
    assert "superset" in release.name and row.service == release.name
    assert row.port == superset_values["service"]["port"] == row.local_port == 8088


# ------------------------------------------------------------------------------------------------
# The image
# ------------------------------------------------------------------------------------------------
def test_image_adds_pinned_drivers_to_the_pinned_superset() -> None:
    assert re.search(r"^FROM apache/superset:6\.1\.0$", SUPERSET_DOCKERFILE, re.M)
    assert '"trino[sqlalchemy]==0.340.0"' in SUPERSET_DOCKERFILE
    assert '"psycopg2-binary==2.9.9"' in SUPERSET_DOCKERFILE
    users = re.findall(r"^USER (\S+)$", SUPERSET_DOCKERFILE, re.M)
    assert users == ["root", "superset"]  # installs as root, runs as the image's user
    assert not re.search(r"^(COPY|ADD) ", SUPERSET_DOCKERFILE, re.M)  # its context is empty


# ------------------------------------------------------------------------------------------------
# The bundle ConfigMap (analytics.cluster)
# ------------------------------------------------------------------------------------------------
def a_zip() -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("bundle/metadata.yaml", "version: 1.0.0\ntype: Dashboard\n")
    return buffer.getvalue()


def test_configmap_holds_the_bundle_and_validates(charts) -> None:
    data = a_zip()
    doc = cluster.configmap(data, charts["namespace"])
    kubernetes_validate.validate(doc, checks.KUBE_VERSION, strict=True)
    assert doc["metadata"] == {
        "name": "superset-bundle",
        "namespace": "lakehouse",
        "labels": {"app.kubernetes.io/name": "superset-bundle", "app.kubernetes.io/part-of": "lakehouse"},
    }  # fmt: skip
    assert base64.b64decode(doc["binaryData"]["bundle.zip"]) == data


def test_configmap_refuses_what_superset_or_the_api_server_would() -> None:
    with pytest.raises(cluster.BundleError, match="not a ZIP"):
        cluster.configmap(b"metadata: {}", "lakehouse")
    with pytest.raises(cluster.BundleError, match="at most 1048576"):
        cluster.configmap(b"PK" + b"\0" * cluster.MAX_BUNDLE_BYTES, "lakehouse")


def test_the_connection_is_superset_on_the_read_only_catalog_of_the_trino_service() -> None:
    trino = platform_charts.service("trino", checks.CHARTS_FILE)
    url = make_url(cluster.trino_uri())
    assert (url.drivername, url.host, url.port) == ("trino", trino.service, trino.port)
    assert (url.username, url.password, url.database) == ("superset", None, "iceberg_readonly")


def bundle_docs(data: bytes) -> dict[str, dict]:
    with zipfile.ZipFile(BytesIO(data)) as zipped:
        return {name: yaml.safe_load(zipped.read(name)) for name in zipped.namelist()}


def test_main_writes_the_manifest_of_all_four_dashboards_on_trino(tmp_path) -> None:
    """The real builder, the real definitions: the data health dashboard reads health.*, which
    the cluster now has, so the bundle holds all four (it held three before)."""
    out = tmp_path / "bundle.yaml"
    assert cluster.main(["configmap", "--out", str(out)]) == 0
    doc = checks.load_docs(out)[0]
    kubernetes_validate.validate(doc, checks.KUBE_VERSION, strict=True)
    files = bundle_docs(base64.b64decode(doc["binaryData"]["bundle.zip"]))
    slugs = {d["slug"] for name, d in files.items() if "/dashboards/" in name}
    assert slugs == {"revenue", "customers", "products", "data_health"}
    (database,) = [d for name, d in files.items() if "/databases/" in name]
    assert database["sqlalchemy_uri"] == cluster.trino_uri()
    assert database["database_name"] == cluster.DATABASE_NAME


def dataset(name: str, sql: str) -> Dataset:
    return Dataset(name=name, description="", sql=sql, columns={"a": "BIGINT"}, metrics={})


def spec_of(**sql: str) -> Spec:
    datasets = {name: dataset(name, text) for name, text in sql.items()}
    dashboards = tuple(
        Dashboard(
            slug=name, title=name, description="", charts=(Chart("c", "t", "table", name, columns=("a",)),)
        )
        for name in sql
    )  # fmt: skip
    return Spec(datasets=datasets, dashboards=dashboards)


def test_the_cluster_gets_the_dashboards_whose_datasets_read_what_superset_may() -> None:
    spec = spec_of(
        gold="select a from gold.daily_revenue",
        health="with t as (select a from health.tables) select a from t",
        joined="select a from gold.x join Silver.y on 1 = 1",
        subquery="select a from (select a from raw.orders) as o",
        unqualified="select a from daily_revenue",
    )
    assert [d.slug for d in cluster.cluster_dashboards(spec)] == ["gold", "health"]
    assert cluster.read_schemas(spec.datasets["joined"]) == {"gold", "silver"}
    real = load_spec()
    assert cluster.cluster_dashboards(real) == list(real.dashboards)


def test_a_failed_build_leaves_the_previous_manifest_alone(tmp_path, monkeypatch, capsys) -> None:
    """A dataset whose SQL does not parse fails the build before anything is written."""
    broken = dataset("broken", "select from where (")
    monkeypatch.setattr(cluster, "load_spec", lambda: Spec({"broken": broken}, ()))
    out = tmp_path / "bundle.yaml"
    out.write_text("previous\n")
    assert cluster.main(["configmap", "--out", str(out)]) == 1
    assert out.read_text() == "previous\n"
    assert capsys.readouterr().err.startswith("error: ")
    monkeypatch.setattr(cluster, "load_spec", lambda: spec_of(silver="select a from silver.x"))
    assert cluster.main(["configmap", "--out", str(out)]) == 1
    assert "no dashboard reads only gold, health" in capsys.readouterr().err
    assert out.read_text() == "previous\n"


# ------------------------------------------------------------------------------------------------
# Trino: the user `superset` sees gold, health and ml only, read-only
# Who sees what in Trino, by the rules of values/trino.yaml (the `trino_rules` fixture, conftest)
# and Trino's semantics (tests/infrastructure/trino_access.py).
CATALOGS = ("iceberg", "iceberg_readonly", "iceberg_maintenance", "tpch", "system")
# information_schema is left out: Trino answers it to every user, filtered by the rules above.
SCHEMAS = (
    "raw",
    "bronze",
    "silver",
    "silver_staging",
    "gold",
    "gold_staging",
    "publish",
    "ml",
    "health",
)


def test_superset_may_only_select_from_gold_health_and_ml_in_the_read_only_catalog(
    trino_rules,
) -> None:
    """gold, health, and ml: the churn scores (issue 17), written after the model's blocking gate."""
    user = cluster.TRINO_USER
    allowed = {
        (catalog, schema, frozenset(privileges))
        for catalog in CATALOGS
        for schema in SCHEMAS
        if (privileges := table_privileges(trino_rules, user, catalog, schema, "fct_orders"))
    }
    assert allowed == {
        (cluster.TRINO_CATALOG, schema, frozenset({"SELECT"})) for schema in cluster.CLUSTER_SCHEMAS
    }
    assert {"gold", "health", "ml"} == cluster.CLUSTER_SCHEMAS


def test_superset_sees_the_gold_health_and_ml_schemas_only(trino_rules) -> None:
    """Review finding: the catch-all rules let `superset` list raw, bronze and silver."""
    for catalog in CATALOGS:
        expected = cluster.CLUSTER_SCHEMAS if catalog == cluster.TRINO_CATALOG else set()
        assert visible_schemas(trino_rules, cluster.TRINO_USER, catalog, SCHEMAS) == expected
    assert visible_schemas(trino_rules, "dbt", "iceberg", SCHEMAS) == set(SCHEMAS)


@pytest.mark.parametrize("user", ["dbt", "e2e", "trino", "maintainer", "superset2", "supersets"])
def test_every_other_user_keeps_full_access(trino_rules, user) -> None:
    """Outside iceberg_maintenance, which only table_maintainer may use (test_values.py)."""
    for catalog in CATALOGS:
        expected = set() if catalog == "iceberg_maintenance" else ALL_PRIVILEGES
        for schema in SCHEMAS:
            assert table_privileges(trino_rules, user, catalog, schema, "t") == expected


def test_the_evaluator_denies_what_trino_denies() -> None:
    """The rules above could pass against a lenient evaluator: check it on plain cases."""
    rules = {
        "catalogs": [{"user": "a", "catalog": "c", "allow": "read-only"}],
        "tables": [{"user": "a", "privileges": ["SELECT", "INSERT"]}],
    }
    assert table_privileges(rules, "a", "c", "s", "t") == {"SELECT"}
    assert table_privileges(rules, "b", "c", "s", "t") == set()  # no catalog rule: denied
    assert table_privileges(rules, "a", "other", "s", "t") == set()
    rules["catalogs"][0]["allow"] = "all"
    assert table_privileges(rules, "a", "c", "s", "t") == {"SELECT", "INSERT"}
