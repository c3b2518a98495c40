"""dbt models as partitioned assets; dbt tests surface as asset checks."""

import json
from collections.abc import Iterator
from graphlib import TopologicalSorter
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from lakehouse.catalog import get_catalog
from orchestration.defs.dbt.inputs import BuildLedger, fingerprint, selection_id
from orchestration.defs.dbt.project import dbt_project, dbt_project_manifest
from orchestration.defs.dbt.translator import LayerTranslator
from orchestration.partitions import business_date_partitions, single_run_backfill
from orchestration.resources import LakehouseResource


class DbtBuildConfig(dg.Config):
    """Run config of the dbt step."""

    full_refresh: bool = False  # rebuild incremental models from scratch (dbt --full-refresh)
    force: bool = False  # build even when no input changed since the last successful build


def business_date_vars(context: dg.AssetExecutionContext) -> dict[str, str]:
    """The partition window as dbt vars, for incremental models to process only those dates."""
    window = context.partition_time_window
    return {
        "business_date_start": window.start.date().isoformat(),
        "business_date_end": window.end.date().isoformat(),  # exclusive
    }


@dbt_assets(
    manifest=dbt_project().manifest_path,
    project=dbt_project(),
    dagster_dbt_translator=LayerTranslator(),
    partitions_def=business_date_partitions,
    backfill_policy=single_run_backfill,
)
def lakehouse_dbt_assets(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    lakehouse: LakehouseResource,
    config: DbtBuildConfig,
) -> Iterator[Any]:
    # Run artifacts and logs go to the data folder, not into the project: one folder per target,
    # reused by every run (runs of the embedded default are serialized; cluster runs are pods).
    settings = lakehouse.settings()
    run_dir = settings.data_dir / "dbt" / settings.dbt_target
    ledger = BuildLedger(run_dir / "last_build.json")
    selection = selection_id(context.selected_asset_keys)
    inputs = fingerprint(get_catalog(settings), dbt_project_manifest())
    if not (config.force or config.full_refresh) and ledger.last(selection) == inputs:
        context.log.info(
            "No raw table has a new snapshot and the dbt project is unchanged since the last "
            "successful build of these models: nothing to rebuild (set force: true to rebuild)."
        )
        deps = context.assets_def.asset_deps
        selected = context.selected_asset_keys
        order = TopologicalSorter({key: deps.get(key, set()) & selected for key in selected})
        for key in order.static_order():  # a multi-asset yields upstream before downstream
            yield dg.MaterializeResult(asset_key=key, metadata={"dbt": "unchanged inputs, skipped"})
        return
    args = [
        "build",
        # Unit tests have fixed inputs: they run in `make test` and CI, not on every data run.
        "--exclude-resource-type",
        "unit_test",
        "--vars",
        json.dumps(business_date_vars(context)),
        "--log-path",
        str(run_dir / "logs"),
    ]
    if config.full_refresh:
        args.append("--full-refresh")
    yield from dbt.cli(args, context=context, target_path=run_dir / "target").stream()
    ledger.record(selection, inputs)  # reached only when dbt succeeded (stream raises otherwise)
