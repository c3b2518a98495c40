"""dbt models as partitioned assets; dbt tests surface as asset checks."""

import json
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from orchestration.defs.dbt.project import dbt_project
from orchestration.defs.dbt.translator import LayerTranslator
from orchestration.partitions import business_date_partitions, single_run_backfill
from orchestration.resources import LakehouseResource


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
    context: dg.AssetExecutionContext, dbt: DbtCliResource, lakehouse: LakehouseResource
) -> Iterator[Any]:
    # Run artifacts and logs go to the data folder, not into the project: one folder per target,
    # reused by every run (runs of the embedded default are serialized; cluster runs are pods).
    settings = lakehouse.settings()
    run_dir = settings.data_dir / "dbt" / settings.dbt_target
    args = [
        "build",
        "--vars",
        json.dumps(business_date_vars(context)),
        "--log-path",
        str(run_dir / "logs"),
    ]
    yield from dbt.cli(args, context=context, target_path=run_dir / "target").stream()
