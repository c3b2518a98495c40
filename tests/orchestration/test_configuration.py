"""Configuration is read when a run starts, not when the code location loads (issue 13, item 1)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from dagster_dbt import DbtProject
from dagster_dlt import DagsterDltResource

from lakehouse.paths import DBT_PROJECT_DIR, REPO_ROOT
from lakehouse.settings import Profile

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


@pytest.fixture(scope="module")
def k8s_manifest() -> Path:
    """The manifest the k8s profile loads (target trino; `dbt parse` needs no server)."""
    target = Profile.K8S.dbt_target
    project = DbtProject(project_dir=DBT_PROJECT_DIR, target=target, target_path=f"target/{target}")
    if not project.manifest_path.exists():
        dbt = Path(sys.executable).with_name("dbt")
        subprocess.run(
            [dbt, "parse", "--quiet", "--target", target, "--target-path", f"target/{target}"],
            cwd=DBT_PROJECT_DIR,
            env={**os.environ, "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)},
            check=True,
        )
    return project.manifest_path


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
    from orchestration.defs.dlt.assets import shop_assets
    from orchestration.resources import LakehouseResource

    for name in CLUSTER_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [shop_assets],
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
