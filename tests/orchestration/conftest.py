from __future__ import annotations

from contextlib import contextmanager

import dagster as dg
import pytest


@pytest.fixture(scope="session")
def defs():
    """The code location, with the dbt manifest prepared the way `make manifest` does."""
    from orchestration.defs.dbt.project import dbt_project

    project = dbt_project()
    if not project.manifest_path.exists():
        project.preparer.prepare(project)
    from orchestration.definitions import defs

    return defs


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
