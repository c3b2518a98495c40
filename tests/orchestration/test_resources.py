"""The resources a run gets: the dbt CLI resource skips upstream's fixed per-run costs."""

from __future__ import annotations

import inspect
from importlib.metadata import version

from dagster_dbt import DbtCliResource
from dagster_dbt.core import resource as dbt_resource_module

from orchestration.resources import build_resources


def test_dbt_version_comes_from_the_installed_package(monkeypatch):
    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"ran a subprocess to learn the dbt version: {args}")

    monkeypatch.setattr(dbt_resource_module, "check_output", no_subprocess)
    assert str(build_resources()["dbt"]._cli_version) == version("dbt-core")


def test_upstream_asks_the_executable(monkeypatch):
    # The reason for the override: if dagster-dbt stops shelling out, this fails and says so.
    calls = []
    monkeypatch.setattr(
        dbt_resource_module, "check_output", lambda cmd, **_: calls.append(cmd) or b"Core: 1.11.0"
    )
    ours = build_resources()["dbt"]
    upstream = DbtCliResource(project_dir=ours.project_dir, dbt_executable=ours.dbt_executable)
    assert str(upstream._cli_version) == "1.11.0"
    assert calls == [[ours.dbt_executable, "--version"]]


def test_no_dbt_adapter_is_built_in_the_dagster_process():
    assert build_resources()["dbt"]._initialize_dbt_core_adapter(["build"]) is None
    # The hook still exists upstream and is what cli() calls (else the override is dead code).
    assert "self._initialize_dbt_core_adapter(" in inspect.getsource(DbtCliResource.cli)
