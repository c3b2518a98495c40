"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lakehouse.settings import Settings


@pytest.fixture
def lakehouse_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The embedded default in a temporary data folder, set in the environment as a run sees it
    (dbt subprocesses and the dbt-duckdb plugin read the same variables)."""
    data_dir = tmp_path / "data"
    monkeypatch.setenv("LAKEHOUSE_PROFILE", "local")
    monkeypatch.setenv("LAKEHOUSE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    (tmp_path / "dagster").mkdir()
    return Settings.from_env()


# `make test` spreads the suite over pytest-xdist workers with `--dist loadgroup`: every test
# runs in the worker that takes its group, and a group (a module, by default) stays in one worker,
# so a module- or session-scoped fixture is built once, not once per worker.
#
# These modules share the repository's dbt target folder: each `make` parses into it (dbt writes
# the manifest in place), `make clean` deletes it, `dagster dev` rebuilds it; the others read the
# manifest while they run, or start processes that load the code location from it. One group, run
# one after the other. (The `defs` fixture reads it once per worker, at the worker's first test
# that needs it: the slow groups come first, see below.)
REPOSITORY_TARGET_GROUP = "repository-dbt-target"
REPOSITORY_TARGET_MODULES = {
    "test_documented_commands.py",
    "orchestration/test_asset_graph.py",
    "orchestration/test_asset_metadata.py",
    "orchestration/test_cli_runs.py",
    "orchestration/test_configuration.py",
    "orchestration/test_cold_load.py",
    "orchestration/test_dbt_steps.py",
    "orchestration/test_land_command.py",
    "transformations/test_dbt_docs.py",
    "analytics",  # the Superset tier (a folder): its session fixture runs the demo in a subprocess
}
# A folder whose session fixtures (dbt builds) are shared by several modules: one group.
FOLDER_GROUPS = {"transformations"}
TESTS_DIR = Path(__file__).parent


def xdist_group(item: pytest.Item) -> str:
    module = item.path.relative_to(TESTS_DIR).as_posix()
    folder = module.split("/")[0]
    if module in REPOSITORY_TARGET_MODULES or folder in REPOSITORY_TARGET_MODULES:
        return REPOSITORY_TARGET_GROUP
    return folder if folder in FOLDER_GROUPS else module


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    groups = {item: xdist_group(item) for item in items}
    for item, group in groups.items():
        item.add_marker(pytest.mark.xdist_group(group))
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return
    # A worker takes the next group when it is almost done with its own: start with the group
    # holding the longest test, then the groups that materialize the graph (marked slow), so the
    # last group to start is a short one (xdist keeps this order with --no-loadscope-reorder).
    slow = {group for item, group in groups.items() if item.get_closest_marker("slow")}
    items.sort(key=lambda i: (groups[i] != REPOSITORY_TARGET_GROUP, groups[i] not in slow))
