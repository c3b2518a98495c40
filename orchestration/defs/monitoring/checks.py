"""Health of the raw tables as asset checks: row count, freshness and quarantined rows.

The figures come from the Iceberg catalog (snapshot summaries, no scan of the data) and the
``raw.quarantine`` table of the landing source, and are attached as metadata so the UI plots them
over time. An empty table fails; a table not loaded for longer than ``STALE_AFTER_HOURS`` or with
quarantined rows warns.
"""

import time
from collections.abc import Iterator

import dagster as dg
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError

from ingestion.landing.settings import QUARANTINE_TABLE
from ingestion.shop import TABLES
from lakehouse.catalog import get_catalog, table_identifier
from lakehouse.layers import Layer
from orchestration.resources import LakehouseResource

CHECK_NAME = "raw_table_health"
STALE_AFTER_HOURS = 36.0  # the daily schedule loads every 24 h; a missed run shows the next day


def quarantined_rows(catalog: Catalog, table: str) -> int:
    """Rows of raw ``table`` in ``raw.quarantine`` (0 when nothing was ever quarantined)."""
    try:
        quarantine = catalog.load_table(table_identifier(Layer.RAW, QUARANTINE_TABLE))
    except NoSuchTableError:
        return 0
    rows = quarantine.scan(selected_fields=("source", "table_name")).to_arrow()
    # Landed tables are named raw.<source>_<table>.
    names = pc.binary_join_element_wise(rows["source"], rows["table_name"], "_")
    return int(pc.sum(pc.equal(names, table)).as_py() or 0)


def table_health(catalog: Catalog, table: str, now: float | None = None) -> dg.AssetCheckResult:
    key = dg.AssetKey([Layer.RAW.value, table])
    try:
        snapshot = catalog.load_table(table_identifier(Layer.RAW, table)).current_snapshot()
    except NoSuchTableError:
        snapshot = None
    if snapshot is None:
        return dg.AssetCheckResult(
            asset_key=key,
            check_name=CHECK_NAME,
            passed=False,
            description=f"raw.{table} has no data: materialize raw/{table} for a business date.",
            metadata={"row_count": 0},
        )
    rows = int(snapshot.summary["total-records"]) if snapshot.summary else 0
    hours = ((now or time.time()) * 1000 - snapshot.timestamp_ms) / 3_600_000
    quarantined = quarantined_rows(catalog, table)
    problems = []
    if rows == 0:
        problems.append("the table is empty")
    if hours > STALE_AFTER_HOURS:
        problems.append(f"last loaded {hours:.0f} h ago (over {STALE_AFTER_HOURS:.0f} h)")
    if quarantined:
        problems.append(f"{quarantined} row(s) quarantined: see raw.quarantine for the reasons")
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=CHECK_NAME,
        passed=rows > 0 and hours <= STALE_AFTER_HOURS and not quarantined,
        severity=dg.AssetCheckSeverity.ERROR if rows == 0 else dg.AssetCheckSeverity.WARN,
        description="; ".join(problems) or "rows present, fresh, nothing quarantined",
        metadata={
            "row_count": rows,
            "quarantined_rows": quarantined,
            "hours_since_last_load": round(hours, 2),
            "last_loaded_at": dg.MetadataValue.timestamp(snapshot.timestamp_ms / 1000),
            "iceberg_snapshot_id": str(snapshot.snapshot_id),
        },
    )


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            CHECK_NAME,
            asset=dg.AssetKey([Layer.RAW.value, table]),
            description="Rows present, loaded within the last day and a half, nothing quarantined.",
        )
        for table in TABLES
    ],
    can_subset=True,
)
def raw_table_checks(
    context: dg.AssetCheckExecutionContext, lakehouse: LakehouseResource
) -> Iterator[dg.AssetCheckResult]:
    catalog = get_catalog(lakehouse.settings())
    for check_key in context.selected_asset_check_keys:
        yield table_health(catalog, check_key.asset_key.path[-1])
