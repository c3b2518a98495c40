"""The shop source's tables as partitioned assets: partition = business date of the increment."""

from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

import dagster as dg
import pyarrow as pa
from dagster_dlt import DagsterDltResource
from dagster_dlt.translator import DltResourceTranslatorData

from ingestion.shop import shop
from ingestion.shop.settings import START_DATE
from lakehouse.catalog import get_catalog
from orchestration.defs.dlt.retries import retry_transient_errors
from orchestration.defs.dlt.translator import RawTranslator
from orchestration.defs.metadata import raw_table_metadata, table_name
from orchestration.partitions import (
    business_date_partitions,
    business_dates,
    single_run_backfill,
)
from orchestration.resources import LakehouseResource

# Rows (all tables) per dlt load. A backfill window loads its dates in groups of about this many
# rows: dlt's per-load work and the Iceberg commits are paid once per group, not once per date,
# and the load step's memory stays bounded. Measured on 10 dates of ~2M rows: one load a date
# 41 s; groups of 2-3 dates 22-26 s, peak 1.0-1.3 GB; all 10 in one load 26 s, peak 2.1 GB.
ROWS_PER_LOAD = 6_000_000


def dates_per_load(rows_per_date: int) -> int:
    """How many dates the next load takes, given the most rows a date has loaded so far."""
    return max(1, ROWS_PER_LOAD // rows_per_date) if rows_per_date else 1


class ShopConfig(dg.Config):
    """Run config of the synthetic source: the same seed and scale always give the same data."""

    seed: int = 42
    scale_factor: float = 1.0
    replay_dir: str | None = None  # recorded increments (bench/generate.py) instead of generating


def raw_table_specs(
    source_docs: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[dg.AssetSpec]:
    """One spec per shop table, keyed by the translator, described by ``source_docs``.

    Built from the source's resources alone: no ``dlt.pipeline()`` (which reads dlt's config and
    makes its working folder) while the code location loads. Each run builds its own pipeline
    and source for its business dates.
    """
    translator = RawTranslator(source_docs or {})
    return [
        translator.get_asset_spec(DltResourceTranslatorData(resource=resource, pipeline=None))
        for resource in shop(business_date=START_DATE).selected_resources.values()
    ]


def raw_table_keys() -> list[dg.AssetKey]:
    return [spec.key for spec in raw_table_specs()]


def build_shop_assets(
    source_docs: Mapping[str, Mapping[str, Any]] | None = None,
) -> dg.AssetsDefinition:
    """The shop's multi-asset; ``source_docs`` describe its tables (``definitions.py``)."""

    @dg.multi_asset(
        specs=raw_table_specs(source_docs),
        name="shop",
        can_subset=True,
        partitions_def=business_date_partitions,
        backfill_policy=single_run_backfill,
    )
    def shop_assets(
        context: dg.AssetExecutionContext,
        dlt: DagsterDltResource,
        lakehouse: LakehouseResource,
        config: ShopConfig,
    ) -> Iterator[dg.MaterializeResult]:
        yield from load_shop(context, dlt, lakehouse, config)

    return shop_assets


def load_shop(
    context: dg.AssetExecutionContext,
    dlt: DagsterDltResource,
    lakehouse: LakehouseResource,
    config: ShopConfig,
) -> Iterator[dg.MaterializeResult]:
    """Load the run's business dates into raw, in groups of dates per dlt load."""
    # dlt's destination (pyiceberg) when a run loads, not when the code location does
    from ingestion.pipeline import make_pipeline

    settings = lakehouse.settings()
    days = business_dates(context)
    rows_by_key: dict[dg.AssetKey, int] = defaultdict(int)
    last_metadata: dict[dg.AssetKey, dict] = {}
    pending, rows_per_date = days, 0  # rows_per_date: the most seen so far, all tables
    # A transient failure retries the step (RAW_RETRY_POLICY); the ledger skips loaded dates.
    with retry_transient_errors(context):
        pipeline = make_pipeline(settings)
        while pending:
            take = dates_per_load(rows_per_date)  # the first load is one date: it measures
            group, pending = pending[:take], pending[take:]
            context.log.info(
                f"Loading business dates {group[0]}..{group[-1]} into raw, in one load "
                f"({len(days) - len(pending)}/{len(days)} dates)"
            )
            source = shop(
                business_date=group[0],
                last_business_date=group[-1],
                seed=config.seed,
                scale_factor=config.scale_factor,
                replay_dir=config.replay_dir,
            )
            loaded = 0
            results = dlt.run(
                context=context,
                dlt_source=source,
                dlt_pipeline=pipeline,
                dagster_dlt_translator=RawTranslator(),
            )
            for result in results:
                metadata = dict(result.metadata or {})
                rows = int(metadata["rows_loaded"].value) if metadata.get("rows_loaded") else 0
                rows_by_key[result.asset_key] += rows
                last_metadata[result.asset_key] = metadata
                loaded += rows
            rows_per_date = max(rows_per_date, -(-loaded // len(group)))
            # Hand the freed Arrow buffers back to the OS: memory stays at one load's worth
            # however many dates a backfill loads, and the dbt step after this gets it.
            pa.default_memory_pool().release_unused()
    catalog = get_catalog(settings)
    for key, metadata in last_metadata.items():
        yield dg.MaterializeResult(
            asset_key=key,
            metadata={
                **metadata,
                "rows_loaded": dg.MetadataValue.int(rows_by_key[key]),
                "business_dates": dg.MetadataValue.text(f"{days[0]}..{days[-1]}"),
                **raw_table_metadata(catalog, table_name(key)),
            },
        )
