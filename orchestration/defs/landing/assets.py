"""The landing source's tables as partitioned assets: partition = ingest date (folder name).

One multi-asset loads every declared source (the contract files of ``ingestion/landing/contracts``,
read when the definitions load) for the run's dates: the good rows
of ``<root>/<source>/<day>/`` into ``raw/<source>_<table>``, bad rows and files into
``raw/quarantine`` (shared by all sources, so one step writes it). Each source has its own dlt
pipeline and ledger (``landing_<source>``), so a file is loaded once however often a date is run.
A date with no landed files is a no-op. The check ``nothing_quarantined`` warns when the run sent
rows to quarantine, with the count per table and the reasons.
"""

from collections import Counter
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import dagster as dg
import pyarrow.compute as pc

from ingestion.landing import landing, last_run_report
from ingestion.landing.contract import SourceContract, TableSpec, contracts_dir
from ingestion.landing.helpers import list_files
from ingestion.landing.settings import QUARANTINE_TABLE
from lakehouse.catalog import get_catalog, table_identifier
from lakehouse.layers import Layer
from lakehouse.settings import Settings
from orchestration.defs.dlt.retries import retry_transient_errors
from orchestration.defs.metadata import raw_table_attributes, raw_table_metadata
from orchestration.partitions import (
    business_date_partitions,
    business_dates,
    single_run_backfill,
)
from orchestration.resources import LakehouseResource

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

QUARANTINE_KEY = dg.AssetKey([Layer.RAW.value, QUARANTINE_TABLE])
CHECK_NAME = "nothing_quarantined"
TOP_REASONS = 10


class LandingConfig(dg.Config):
    """Run config of the landing assets."""

    root: str | None = None  # the landing folder or URL; default <LAKEHOUSE_DATA_DIR>/landing
    sources: list[str] | None = None  # declared sources to load; all of them by default


def landing_root(settings: Settings, config: LandingConfig) -> str:
    return config.root or str(settings.data_dir / "landing")


def storage_options(settings: Settings, root: str) -> dict[str, Any] | None:
    """fsspec options for an ``s3://`` landing root: the deployment's S3 credentials."""
    if not root.startswith("s3://") or settings.rest is None:
        return None
    rest = settings.rest
    return {
        "key": rest.s3_access_key_id,
        "secret": rest.s3_secret_access_key,
        "client_kwargs": {"endpoint_url": rest.s3_endpoint, "region_name": rest.s3_region},
    }


def landed_tables(sources: Mapping[str, SourceContract]) -> list[str]:
    """The raw table of every declared landing table: ``<source>_<table>``."""
    return [f"{source}_{t.name}" for source, contract in sources.items() for t in contract.tables]


def _spec(table: str, description: str, metadata: dict[str, Any] | None = None) -> dg.AssetSpec:
    attributes = raw_table_attributes(table)
    return dg.AssetSpec(
        key=dg.AssetKey([Layer.RAW.value, table]),
        description=description,
        kinds=attributes["kinds"],
        metadata={**attributes["metadata"], **(metadata or {})},
    )


def _table_spec(source: str, contract: SourceContract, table: TableSpec) -> dg.AssetSpec:
    """The asset of one declared table, described and typed as its contract declares it."""
    columns = dg.TableSchema(
        columns=[
            dg.TableColumn(
                c.name,
                c.type,
                description=c.description or None,
                constraints=dg.TableColumnConstraints(nullable=c.nullable),
            )
            for c in table.columns
        ]
    )
    about = " ".join(filter(None, [table.description, contract.description]))
    return _spec(
        f"{source}_{table.name}",
        f"Landed files of raw.{source}_{table.name}, validated. {about}".strip(),
        {"dagster/column_schema": columns},
    )


def build_landing_assets(sources: Mapping[str, SourceContract]) -> dg.AssetsDefinition:
    """The landing multi-asset of the declared ``sources`` (``load_sources()``)."""

    @dg.multi_asset(
        name="landing",
        specs=[
            *(_table_spec(s, c, t) for s, c in sources.items() for t in c.tables),
            _spec(QUARANTINE_TABLE, "Rejected landed rows and files, with the reason."),
        ],
        check_specs=[
            dg.AssetCheckSpec(
                CHECK_NAME,
                asset=QUARANTINE_KEY,
                description="Warns when the run quarantined landed rows (count and reasons).",
            )
        ],
        group_name=Layer.RAW.value,
        partitions_def=business_date_partitions,
        backfill_policy=single_run_backfill,
    )
    def landing_assets(
        context: dg.AssetExecutionContext, lakehouse: LakehouseResource, config: LandingConfig
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        yield from load_landed_files(context, lakehouse, config, sources)

    return landing_assets


def load_landed_files(
    context: dg.AssetExecutionContext,
    lakehouse: LakehouseResource,
    config: LandingConfig,
    sources: Mapping[str, SourceContract],
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Land the run's dates of the configured sources (all by default) and report per table."""
    # dlt's destination (pyiceberg) when a run loads, not when the code location does
    from ingestion.pipeline import make_pipeline

    days = business_dates(context)  # refuses dates outside the partitions first
    settings = lakehouse.settings()
    root = landing_root(settings, config)
    options = storage_options(settings, root)
    unknown = set(config.sources or ()) - set(sources)
    if unknown:
        raise ValueError(
            f"undeclared landing source(s) {sorted(unknown)}; declared: "
            f"{', '.join(sources) or 'none'} (contract files in {contracts_dir()})"
        )
    loaded: Counter[str] = Counter()
    quarantined = 0
    load_ids: list[str] = []
    with retry_transient_errors(context):
        for source in config.sources or list(sources):
            contracts = sources[source].table_contracts()
            pipeline = None
            for day in days:
                if next(list_files(root, source, day.isoformat(), options), None) is None:
                    context.log.info(
                        f"landing: no files under {root}/{source}/{day}; nothing to load"
                    )
                    continue
                pipeline = pipeline or make_pipeline(settings, name=f"landing_{source}")
                info = pipeline.run(landing(root, source, contracts, day, options))
                report = last_run_report(pipeline, source)
                context.log.info(f"landing {source} {day}: {report}")
                load_ids.extend(info.loads_ids)
                loaded.update(report.get("rows_by_table", {}))
                quarantined += int(report.get("rows_quarantined", 0))

    catalog = get_catalog(settings)
    for table in landed_tables(sources):
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey([Layer.RAW.value, table]),
            metadata={"rows_loaded": loaded[table], **raw_table_metadata(catalog, table)},
        )
    yield dg.MaterializeResult(
        asset_key=QUARANTINE_KEY,
        metadata={"rows_quarantined": quarantined, **raw_table_metadata(catalog, QUARANTINE_TABLE)},
    )
    yield quarantine_check(catalog, load_ids, quarantined)


def quarantine_check(
    catalog: "Catalog", load_ids: list[str], quarantined: int
) -> dg.AssetCheckResult:
    """Passes when the run's loads quarantined nothing; warns with counts and reasons if not."""
    from pyiceberg.expressions import In

    by_table: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    if quarantined and load_ids:
        rows = (
            catalog.load_table(table_identifier(Layer.RAW, QUARANTINE_TABLE))
            .scan(
                row_filter=In("_dlt_load_id", load_ids),
                selected_fields=("source", "table_name", "reason"),
            )
            .to_arrow()
        )
        names = pc.binary_join_element_wise(rows["source"], rows["table_name"], "_")
        by_table.update(names.to_pylist())
        reasons.update(rows["reason"].to_pylist())
    return dg.AssetCheckResult(
        asset_key=QUARANTINE_KEY,
        check_name=CHECK_NAME,
        passed=quarantined == 0,
        severity=dg.AssetCheckSeverity.WARN,
        description=(
            f"{quarantined} landed row(s) or file(s) quarantined: see raw.quarantine"
            if quarantined
            else "nothing quarantined"
        ),
        metadata={
            "quarantined_rows": quarantined,
            "quarantined_by_table": dg.MetadataValue.json(dict(by_table)),
            "reasons": dg.MetadataValue.json(dict(reasons.most_common(TOP_REASONS))),
        },
    )
