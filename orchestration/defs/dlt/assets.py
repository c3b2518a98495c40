"""The shop source's tables as partitioned assets: partition = business date of the increment."""

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta

import dagster as dg
import dlt
import pyarrow as pa
from dagster_dlt import DagsterDltResource, dlt_assets

from ingestion.pipeline import PIPELINE_NAME, make_pipeline
from ingestion.shop import shop
from ingestion.shop.settings import START_DATE
from lakehouse.catalog import get_catalog
from lakehouse.layers import Layer
from orchestration.defs.dlt.retries import retry_transient_errors
from orchestration.defs.dlt.translator import RawTranslator
from orchestration.defs.metadata import raw_table_metadata
from orchestration.partitions import business_date_partitions, single_run_backfill
from orchestration.resources import LakehouseResource


class ShopConfig(dg.Config):
    """Run config of the synthetic source: the same seed and scale always give the same data."""

    seed: int = 42
    scale_factor: float = 1.0
    replay_dir: str | None = None  # recorded increments (bench/generate.py) instead of generating


def business_dates(context: dg.AssetExecutionContext) -> list[date]:
    """Every business date of the run's partition window, oldest first."""
    window = context.partition_time_window
    first, end = window.start.date(), window.end.date()
    return [first + timedelta(days=n) for n in range((end - first).days)]


@dlt_assets(
    # Describes the tables only; each run builds its own source for its business dates.
    dlt_source=shop(business_date=START_DATE),
    dlt_pipeline=dlt.pipeline(
        pipeline_name=PIPELINE_NAME, destination="filesystem", dataset_name=Layer.RAW.value
    ),
    name="shop",
    dagster_dlt_translator=RawTranslator(),
    partitions_def=business_date_partitions,
    backfill_policy=single_run_backfill,
)
def shop_assets(
    context: dg.AssetExecutionContext,
    dlt: DagsterDltResource,
    lakehouse: LakehouseResource,
    config: ShopConfig,
) -> Iterator[dg.MaterializeResult]:
    settings = lakehouse.settings()
    rows_by_key: dict[dg.AssetKey, dict[str, int]] = defaultdict(dict)
    last_metadata: dict[dg.AssetKey, dict] = {}
    days = business_dates(context)
    # A transient failure retries the step (RAW_RETRY_POLICY); the ledger skips loaded dates.
    with retry_transient_errors(context):
        pipeline = make_pipeline(settings)
        for n, day in enumerate(days, start=1):
            context.log.info(f"Loading business date {day} ({n}/{len(days)}) into raw")
            source = shop(
                business_date=day,
                seed=config.seed,
                scale_factor=config.scale_factor,
                replay_dir=config.replay_dir,
            )
            for result in dlt.run(context=context, dlt_source=source, dlt_pipeline=pipeline):
                metadata = dict(result.metadata or {})
                rows = metadata.get("rows_loaded")
                rows_by_key[result.asset_key][day.isoformat()] = int(rows.value) if rows else 0
                last_metadata[result.asset_key] = metadata
            # Hand the day's freed Arrow buffers back to the OS: memory stays at one day's worth
            # however many dates a backfill loads, and the dbt step after this gets it.
            pa.default_memory_pool().release_unused()
    catalog = get_catalog(settings)
    for key, metadata in last_metadata.items():
        by_day = rows_by_key[key]
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                **metadata,
                "rows_loaded": dg.MetadataValue.int(sum(by_day.values())),
                "rows_loaded_by_business_date": dg.MetadataValue.json(by_day),
                **raw_table_metadata(catalog, key.path[-1]),
            },
        )
