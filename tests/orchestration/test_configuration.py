"""Configuration is read when a run starts, not when the code location loads (issue 13, item 1)."""

from __future__ import annotations

import os
import subprocess
import sys

import dagster as dg
from dagster_dlt import DagsterDltResource

from lakehouse.paths import REPO_ROOT

# Everything LAKEHOUSE_PROFILE=k8s reads from the cluster's Secrets and values.
CLUSTER_VARIABLES = (
    "ICEBERG_REST_URI",
    "ICEBERG_REST_CLIENT_ID",
    "ICEBERG_REST_CLIENT_SECRET",
    "ICEBERG_SQL_CATALOG_URI",
    "S3_ENDPOINT",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)


def without_cluster_variables(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLUSTER_VARIABLES}
    return {**env, **extra}


def test_the_k8s_code_location_loads_without_cluster_variables(k8s_manifest, tmp_path):
    env = without_cluster_variables(
        LAKEHOUSE_PROFILE="k8s", LAKEHOUSE_DATA_DIR=str(tmp_path), DAGSTER_HOME=str(tmp_path)
    )
    script = (
        "import orchestration.definitions as d; print(d.defs.resolve_job_def('lakehouse_job').name)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("lakehouse_job")


def test_a_k8s_run_without_cluster_variables_fails_naming_them(monkeypatch, tmp_path):
    from orchestration.defs.dlt.assets import build_shop_assets
    from orchestration.resources import LakehouseResource

    for name in CLUSTER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [build_shop_assets()],
            partition_key="2024-01-01",
            instance=instance,
            resources={
                "lakehouse": LakehouseResource(profile="k8s", data_dir=str(tmp_path)),
                "dlt": DagsterDltResource(),
            },
            raise_on_error=False,
        )
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.cause.message
    assert (
        "ICEBERG_REST_URI, ICEBERG_REST_CLIENT_ID, ICEBERG_REST_CLIENT_SECRET, S3_ENDPOINT, "
        "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY are not set but LAKEHOUSE_PROFILE=k8s needs them"
    ) in message


def test_the_raw_assets_read_no_dbt_manifest_when_imported_or_run() -> None:
    """The dlt translator reads nothing itself (review finding, issue 14): importing the raw
    assets, building them and keying a run's tables work with the manifest unreadable; only the
    definitions' loader (``orchestration/defs/dlt/definitions.py``) hands the source docs in."""
    script = "\n".join(
        [
            "import orchestration.defs.dbt.project as project",
            "def refuse():",
            "    raise RuntimeError('the dbt manifest was read')",
            "project.dbt_project_manifest = refuse",
            "from orchestration.defs.dlt.assets import build_shop_assets, raw_table_keys",
            "assert build_shop_assets().keys == set(raw_table_keys())",
            "print(sorted(k.to_user_string() for k in raw_table_keys())[0])",
        ]
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().startswith("raw/")


def test_the_loaded_raw_assets_carry_the_dbt_source_docs() -> None:
    from orchestration.defs.dbt.project import dbt_project_manifest
    from orchestration.defs.dlt.definitions import shop_definitions
    from orchestration.defs.metadata import raw_source_docs, table_name

    docs = raw_source_docs(dbt_project_manifest())
    (assets,) = shop_definitions().assets
    described = {table_name(key): spec.description for key, spec in assets.specs_by_key.items()}
    assert described, "no raw asset"
    for table, description in described.items():
        assert description == (docs[table]["description"] or description), table
    assert any(docs[table]["description"] for table in described)
