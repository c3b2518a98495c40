"""dbt models as assets; dbt tests surface as asset checks.

The incremental models are partitioned by business date, and so are the models they read (the
bronze views and dim_date): each run builds its window of dates into the incremental models and,
in the same dbt invocation, re-creates the views and tests the window's rows. The models after
them (the gold marts) are rebuilt whole, so they are unpartitioned and follow their dependencies
(``translator.FOLLOW_DEPENDENCIES``). The partitioned step skips when its dates were already
built and tested on the same inputs (``inputs.py``), and Dagster then skips the marts after it.

The steps write and audit only (write-audit-publish): a step fails when a blocking test fails,
and the run's publish step (``publish.py``) publishes what every dbt step of the run built, in one
registry commit, only once all of them passed.
"""

import json
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from lakehouse.catalog import get_catalog
from lakehouse.settings import Profile
from orchestration.defs.dbt.inputs import INPUTS_KEY, built_on, fingerprint
from orchestration.defs.dbt.project import dbt_project, dbt_project_manifest
from orchestration.defs.dbt.row_counts import counted_stream
from orchestration.defs.dbt.translator import LayerTranslator
from orchestration.partitions import (
    business_date_partitions,
    business_dates,
    single_run_backfill,
)
from orchestration.resources import LakehouseResource

# The two dbt steps, one dbt invocation each: the incremental models and every model upstream
# of them, partitioned by business date; the models rebuilt whole after them, unpartitioned. (A
# third step, of the views alone before the incremental models, cost every run one more dbt start
# and dagster-dbt's adapter: ~5 s.) dbt's `buildable` indirect selection runs a test in the step
# that builds the last of its parents (a mart's relationship to a dimension runs with the mart);
# Dagster places its check on the model that declares it, the same one.
PARTITIONED_MODELS = "+config.materialized:incremental"
# The marts, rebuilt whole after the incremental models: the models tagged `mart`. One selector,
# not "the rest" nor an intersection: dagster-dbt applies an `exclude` with dbt's eager test
# selection when it reads the steps, which dropped the checks of the marts' tests that also name
# a dimension or fact (4 of them), and under `buildable` an intersection with
# `config.materialized:table` also ran the facts' tests to dim_date (a table) a second time.
# tests/orchestration/test_dbt_steps.py fails if a model or test is in neither step or in both.
REBUILT_MODELS = "tag:mart"


class DbtBuildConfig(dg.Config):
    """Run config of the partitioned dbt step."""

    full_refresh: bool = False  # rebuild incremental models from scratch (dbt --full-refresh)
    force: bool = False  # build even when no input changed since the dates were last built


def business_date_window(context: dg.AssetExecutionContext) -> tuple[str, str] | None:
    """The run's window of business dates as ISO dates, end exclusive, or None without one.

    dbt reads it (macro business_date_window): the incremental models build those dates, and the
    views' tests check those dates' rows only (bronze ``where``).
    Dates outside the partitions are refused here, before anything is written.
    """
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    days = business_dates(context)
    return days[0].isoformat(), (days[-1] + timedelta(days=1)).isoformat()


def window_vars(window: tuple[str, str]) -> list[str]:
    """The window as dbt ``--vars`` (macro business_date_window reads var('business_date_start')).

    dbt's documented way to hand a run its parameters, and what dagster-open-platform does; it
    leaves the process environment alone. The price: dbt re-parses the project when the vars
    differ from the last parse's. Measured here (2 cores, while another test suite ran):
    `dbt parse` with unchanged vars 4.8 s (partial parse), with new vars 9.5-11.2 s, so about
    5-6 s per partition run.
    """
    vars_ = {"business_date_start": window[0], "business_date_end": window[1]}
    return ["--vars", json.dumps(vars_)]


def dbt_build(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    lakehouse: LakehouseResource,
    extra_args: list[str],
) -> Iterator[Any]:
    """``dbt build`` of the step's selection as Dagster events with row counts (raises if dbt
    fails)."""
    # Run artifacts and logs go to the data folder, not into the project: one folder per target,
    # reused by every run (runs of the embedded default are serialized; cluster runs are pods).
    settings = lakehouse.settings()
    run_dir = settings.data_dir / "dbt" / settings.dbt_target
    args = [
        "build",
        # Unit tests have fixed inputs: they run in `make test` and CI, not on every data run.
        "--exclude-resource-type",
        "unit_test",
        "--log-path",
        str(run_dir / "logs"),
        # A test runs once all its parents are selected or upstream (see PARTITIONED_MODELS).
        "--indirect-selection",
        "buildable",
        *extra_args,
    ]
    invocation = dbt.cli(args, context=context, target_path=run_dir / "target")
    local = settings.profile is Profile.LOCAL
    yield from counted_stream(invocation, settings.duckdb_path if local else None)


def dbt_models(select: str, **options: Any) -> Callable:
    """``@dbt_assets`` of the project's models matching ``select``.

    Every step is built once per backfill run, partitioned or not: `dagster asset materialize
    --select '*' --partition-range A...B` requires a single-run policy of every asset it selects.
    """
    return dbt_assets(
        manifest=dbt_project().manifest_path,
        project=dbt_project(),
        dagster_dbt_translator=LayerTranslator(),
        select=select,
        backfill_policy=single_run_backfill,
        **options,
    )


@dbt_models(PARTITIONED_MODELS, partitions_def=business_date_partitions)
def incremental_dbt_assets(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    lakehouse: LakehouseResource,
    config: DbtBuildConfig,
) -> Iterator[Any]:
    window = business_date_window(context)  # refuses dates outside the partitions first
    inputs = fingerprint(get_catalog(lakehouse.settings()), dbt_project_manifest())
    if not (config.force or config.full_refresh) and built_on(
        context.instance, context.selected_asset_keys, context.partition_keys, inputs
    ):
        # Nothing is materialized, so Dagster reports this step's checks as skipped and skips
        # the models downstream in this run (their inputs did not change either).
        context.log.info(
            f"These models were built for {window[0]}..{window[1]} (end exclusive) on the same "
            "raw snapshots and the same dbt project: nothing to rebuild (set force: true to "
            "rebuild)."
        )
        return
    args = window_vars(window) + (["--full-refresh"] if config.full_refresh else [])
    for event in dbt_build(context, dbt, lakehouse, args):
        if isinstance(event, dg.Output):  # a model built: record what it was built on
            event = event.with_metadata({**event.metadata, INPUTS_KEY: inputs})
        yield event


@dbt_models(REBUILT_MODELS)
def lakehouse_dbt_assets(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, lakehouse: LakehouseResource
) -> Iterator[Any]:
    # Runs only after the partitioned step built something (Dagster skips it otherwise), with
    # the same window: the same vars keep dbt's partial parse of the step before.
    window = business_date_window(context)
    yield from dbt_build(context, dbt, lakehouse, window_vars(window) if window else [])
