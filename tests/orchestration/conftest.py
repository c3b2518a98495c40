from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import pytest
from dagster_dbt import DbtProject

from lakehouse.paths import DBT_PROJECT_DIR
from lakehouse.settings import Profile


@pytest.fixture(scope="session")
def defs():
    """The code location, with the dbt manifest prepared the way `make manifest` does."""
    from orchestration.defs.dbt.project import dbt_project

    project = dbt_project()
    if not project.manifest_path.exists():
        project.preparer.prepare(project)
    from orchestration.definitions import defs

    return defs


@pytest.fixture(scope="session")
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


@contextmanager
def embedded_lakehouse(tmp_path_factory: pytest.TempPathFactory, name: str):
    """The embedded default in a fresh temporary data folder, with a Dagster test instance."""
    from lakehouse.settings import Settings

    tmp = tmp_path_factory.mktemp(name)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAKEHOUSE_PROFILE", "local")
        mp.setenv("LAKEHOUSE_DATA_DIR", str(tmp / "data"))
        with dg.instance_for_test() as instance:
            yield Settings.from_env(), instance
