from __future__ import annotations

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
