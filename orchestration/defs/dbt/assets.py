"""dbt models as assets; dbt tests surface as asset checks.

Only the incremental models are partitioned by business date: each run builds its window of
dates into them. The other models (bronze views, dim_date, gold marts) are rebuilt whole, so
they are unpartitioned and follow their dependencies (``translator.FOLLOW_DEPENDENCIES``).
A step whose models were already built and tested on the same inputs skips (``inputs.py``).

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
from orchestration.defs.dbt.inputs import INPUTS_KEY, built_on, fingerprint, reads_only_raw
from orchestration.defs.dbt.project import dbt_project, dbt_project_manifest
from orchestration.defs.dbt.row_counts import counted_stream
from orchestration.defs.dbt.translator import LayerTranslator
from orchestration.partitions import (
    business_date_partitions,
    business_dates,
    single_run_backfill,
)
from orchestration.resources import LakehouseResource

# The two dbt steps: the incremental models, partitioned by business date, and the models
# rebuilt whole (views and tables), unpartitioned. dbt's `buildable` indirect selection runs a
# test in the step that builds the last of its parents (a mart's relationship to a dimension
# runs with the mart); Dagster places its check on the model that declares it, the same one.
INCREMENTAL_MODELS = "config.materialized:incremental"
REBUILT_MODELS = "config.materialized:view config.materialized:table"


class DbtBuildConfig(dg.Config):
    """Run config of the incremental models' dbt step."""

    full_refresh: bool = False  # rebuild incremental models from scratch (dbt --full-refresh)
    force: bool = False  # build even when no input changed since the dates were last built


class DbtRebuildConfig(dg.Config):
    """Run config of the step of the models rebuilt whole."""

    force: bool = False  # build the bronze views even when no input changed since the last build


def rebuild_requested(context: dg.AssetExecutionContext, config: DbtRebuildConfig) -> bool:
    """``force``, or a forced or full-refresh build of the incremental models in this run: they
    come after the bronze views, and Dagster skips a step whose upstream step built nothing."""
    ops = context.run.run_config.get("ops", {})
    asked = ops.get(incremental_dbt_assets.op.name, {}).get("config", {})
    return config.force or bool(asked.get("force") or asked.get("full_refresh"))


def business_date_window(context: dg.AssetExecutionContext) -> tuple[str, str] | None:
    """The run's window of business dates as ISO dates, end exclusive, or None without one.

    dbt reads it (macro business_date_window). An unpartitioned model in a partitioned run sees
    the run's window too: its tests then check the rows of those dates only (bronze ``where``).
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
        # A test runs once all its parents are selected or upstream (see INCREMENTAL_MODELS).
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


@dbt_models(INCREMENTAL_MODELS, partitions_def=business_date_partitions)
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
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    lakehouse: LakehouseResource,
    config: DbtRebuildConfig,
) -> Iterator[Any]:
    window = business_date_window(context)
    inputs = None
    manifest = dbt_project_manifest()
    translator = LayerTranslator()
    selected = [
        uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model"
        and translator.get_asset_key(node) in context.selected_asset_keys
    ]
    # The subset upstream of the incremental models (Dagster runs this multi-asset in two steps,
    # one on each side of them): built on the same raw snapshots, project and dates, it is the
    # same; the marts after the incremental models follow what those built instead.
    if window is not None and reads_only_raw(manifest, selected):
        catalog = get_catalog(lakehouse.settings())
        inputs = fingerprint(catalog, manifest, window)
        # Skipped, it makes Dagster skip the incremental step after it: only when that step
        # would find its dates built on the same inputs too.
        if (
            not rebuild_requested(context, config)
            and built_on(context.instance, context.selected_asset_keys, [None], inputs)
            and built_on(
                context.instance,
                incremental_dbt_assets.keys,
                context.partition_keys,
                fingerprint(catalog, manifest),
            )
        ):
            context.log.info(
                "These views and tables were built and tested on the same raw snapshots, dbt "
                "project and dates, and so were the incremental models after them: nothing to "
                "rebuild (set force: true to rebuild)."
            )
            return
    for event in dbt_build(context, dbt, lakehouse, window_vars(window) if window else []):
        if inputs is not None and isinstance(event, dg.Output):
            event = event.with_metadata({**event.metadata, INPUTS_KEY: inputs})
        yield event
