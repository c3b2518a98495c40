"""The two dbt steps: incremental models (and the models they read) per business date, the rest
rebuilt and following them.

No dbt build runs here: test selection is asked of dbt itself (``dbt ls`` through dbt's
documented programmatic entry point, ``dbtRunner``), and automation is evaluated by Dagster's
own ``evaluate_automation_conditions`` on runless materializations.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import dagster as dg
import pytest
from dbt.cli.main import dbtRunner

from lakehouse.paths import DBT_PROJECT_DIR
from orchestration.defs.dbt.assets import (
    PARTITIONED_MODELS,
    REBUILT_MODELS,
    business_date_window,
    incremental_dbt_assets,
    lakehouse_dbt_assets,
)
from orchestration.defs.dbt.project import dbt_project


def dbt_build_tests(select: str, tmp_path, monkeypatch, exclude: str = "") -> set[str]:
    """The tests a ``dbt build`` of ``select`` (minus ``exclude``) runs, as the steps invoke it."""
    monkeypatch.chdir(DBT_PROJECT_DIR)
    monkeypatch.setenv("DBT_PROFILES_DIR", str(DBT_PROJECT_DIR))
    monkeypatch.setenv("LAKEHOUSE_DATA_DIR", str(tmp_path))
    result = dbtRunner().invoke(
        [
            "ls",
            "--quiet",
            "--target",
            dbt_project().target,
            "--target-path",
            str(tmp_path / "target"),
            "--resource-type",
            "test",
            "--indirect-selection",
            "buildable",
            "--output",
            "name",
            "--select",
            *select.split(),
            *(["--exclude", *exclude.split()] if exclude else []),
        ]
    )
    assert result.success, result.exception
    return set(result.result)


@pytest.mark.parametrize(
    ("assets_def", "select", "exclude"),
    [
        (incremental_dbt_assets, PARTITIONED_MODELS, ""),
        (lakehouse_dbt_assets, REBUILT_MODELS, ""),
    ],
    ids=["partitioned", "rebuilt"],
)
def test_every_check_of_a_step_is_run_by_its_dbt_build(
    assets_def, select, exclude, tmp_path, monkeypatch
):
    """A check Dagster shows on a model must be evaluated by the step that builds the model.

    With dbt's default (eager) selection the bronze step ran the facts' relationship test to
    dim_date before any fact existed, and the marts' tests to the dimensions had no step.
    """
    checks = {key.name for key in assets_def.check_keys}
    assert checks
    assert checks <= dbt_build_tests(select, tmp_path, monkeypatch, exclude)


def test_every_dbt_test_has_a_step(defs, tmp_path, monkeypatch):
    manifest = json.loads(dbt_project().manifest_path.read_text())
    every_test = {
        node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "test"
    }
    partitioned = dbt_build_tests(PARTITIONED_MODELS, tmp_path, monkeypatch)
    rebuilt = dbt_build_tests(REBUILT_MODELS, tmp_path, monkeypatch)
    assert every_test == partitioned | rebuilt
    assert not partitioned & rebuilt  # no test runs twice in a run


def test_every_model_is_an_asset_and_every_test_a_check_of_one_step(defs):
    """What dagster-dbt made of the two selections when it read them (with dbt's eager test
    selection, not the steps' `buildable`): an `exclude` there once left 4 marts' tests that
    also name a dimension or fact without a check."""
    manifest = json.loads(dbt_project().manifest_path.read_text())
    nodes = manifest["nodes"].values()
    models = {
        dg.AssetKey([n["config"]["schema"], n["name"]])
        for n in nodes
        if n["resource_type"] == "model"
    }
    tests = {n["name"] for n in nodes if n["resource_type"] == "test"}
    steps = (incremental_dbt_assets, lakehouse_dbt_assets)
    assert set(steps[0].keys) | set(steps[1].keys) == models
    assert not set(steps[0].keys) & set(steps[1].keys)
    checks = [{key.name for key in step.check_keys} for step in steps]
    assert checks[0] | checks[1] == tests
    assert not checks[0] & checks[1]


def test_marts_follow_a_new_partition_of_their_dependencies(defs):
    """After a silver partition is built outside the whole-graph job (a layer job, a backfill),
    the automation condition requests the marts downstream of it, and only those."""
    graph = defs.resolve_asset_graph()
    unpartitioned = {
        key
        for key in graph.get_all_asset_keys()
        if key.path[0] in {"bronze", "silver", "gold"} and graph.get(key).partitions_def is None
    }
    day = date(2024, 1, 2).isoformat()
    with dg.instance_for_test() as instance:
        for key in graph.get_all_asset_keys():  # everything built once
            node = graph.get(key)
            instance.report_runless_asset_event(
                dg.AssetMaterialization(key, partition=day if node.partitions_def else None)
            )
        settled = dg.evaluate_automation_conditions(defs=defs, instance=instance)
        settled = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=settled.cursor
        )
        assert settled.total_requested == 0

        fact = dg.AssetKey(["gold", "fct_order_items"])
        instance.report_runless_asset_event(dg.AssetMaterialization(fact, partition=day))
        after = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, cursor=settled.cursor
        )
    requested = {key for key in unpartitioned if after.get_num_requested(key)}
    # the marts downstream of the fact, up to the next partitioned model (each builds per date)
    following, frontier = set(), [fact]
    while frontier:
        children = graph.get(frontier.pop()).child_keys & unpartitioned
        frontier.extend(children - following)
        following |= children
    assert following and requested == following
    assert all(after.get_requested_partitions(key) == {None} for key in requested)
    # the publish step is requested with them, so the run that rebuilds them publishes them
    assert after.get_num_requested(dg.AssetKey(["publish", "builds"])) == 1


def test_a_range_of_dates_backfills_the_whole_graph_in_one_run(defs):
    """README: `dagster asset materialize --select '*' --partition-range A...B`. The CLI refuses a
    range unless every selected asset has a single-run backfill policy (dagster 1.13.27,
    dagster/_cli/asset.py, execute_materialize_command), the unpartitioned marts included."""
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_materializable:
            assert node.backfill_policy == dg.BackfillPolicy.single_run(), key


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        ({"dagster/partition": "2024-01-02"}, ["2024-01-02"]),
        (
            {
                "dagster/asset_partition_range_start": "2024-01-02",
                "dagster/asset_partition_range_end": "2024-01-04",
            },
            ["2024-01-02", "2024-01-03", "2024-01-04"],
        ),
    ],
)
def test_an_unpartitioned_model_in_a_run_for_dates_sees_those_dates(tags, expected):
    """A run for dates of unpartitioned models alone (the marts, a job of them) still hands dbt
    the dates' window; the run has no partitions definition to ask."""
    seen = []

    @dg.asset
    def mart(context) -> None:
        seen.append(business_date_window(context))

    job = dg.define_asset_job("marts", selection=[mart])
    result = (
        dg.Definitions(assets=[mart], jobs=[job])
        .resolve_job_def("marts")
        .execute_in_process(tags=tags)
    )
    assert result.success
    end = (date.fromisoformat(expected[-1]) + timedelta(days=1)).isoformat()
    assert seen == [(expected[0], end)]
