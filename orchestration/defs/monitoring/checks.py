"""Health of the raw tables as asset checks: row count, freshness and, for landed tables,
quarantined rows.

The figures come from the Iceberg catalog (snapshot summaries, no scan of the data) and, for the
tables the landing source writes, from one scan of ``raw.quarantine`` per check run (the shop
source never quarantines, so its tables are not counted there). They are attached as metadata so
the UI plots them over time. An empty shop table fails; a table not loaded for longer than
``STALE_AFTER_HOURS``, with quarantined rows, or a landed table nothing was landed in yet warns.
"""

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import dagster as dg
import pyarrow.compute as pc

from ingestion.landing.settings import QUARANTINE_TABLE
from ingestion.shop import TABLES
from lakehouse.catalog import get_catalog, table_identifier
from lakehouse.layers import Layer
from orchestration.defs.metadata import raw_asset_key, table_name
from orchestration.resources import LakehouseResource

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog

CHECK_NAME = "raw_table_health"
STALE_AFTER_HOURS = 36.0  # the daily schedule loads every 24 h; a missed run shows the next day


def quarantined_by_table(catalog: "Catalog") -> Counter[str]:
    """Rows in ``raw.quarantine`` per landed raw table (``<source>_<table>``), in one scan."""
    # pyiceberg when the check runs, not when the code location loads
    from pyiceberg.exceptions import NoSuchTableError

    try:
        quarantine = catalog.load_table(table_identifier(Layer.RAW, QUARANTINE_TABLE))
    except NoSuchTableError:
        return Counter()
    rows = quarantine.scan(selected_fields=("source", "table_name")).to_arrow()
    names = pc.binary_join_element_wise(rows["source"], rows["table_name"], "_")
    return Counter({c["values"].as_py(): c["counts"].as_py() for c in pc.value_counts(names)})


def table_health(
    catalog: "Catalog", table: str, now: float | None = None, quarantined: int | None = None
) -> dg.AssetCheckResult:
    """The check result of raw ``table``; ``quarantined`` is given for landed tables only."""
    from pyiceberg.exceptions import NoSuchTableError

    key = raw_asset_key(table)
    try:
        snapshot = catalog.load_table(table_identifier(Layer.RAW, table)).current_snapshot()
    except NoSuchTableError:
        snapshot = None
    landed = quarantined is not None
    if snapshot is None:
        # A landed table exists once its sender delivered a file: until then a warning, since a
        # date with nothing landed is a normal no-op, not a failed load.
        return dg.AssetCheckResult(
            asset_key=key,
            check_name=CHECK_NAME,
            passed=False,
            severity=dg.AssetCheckSeverity.WARN if landed else dg.AssetCheckSeverity.ERROR,
            description=(
                f"nothing landed in raw.{table} yet: files for it go under the landing folder "
                "(ingestion/landing/README.md)"
                if landed
                else f"raw.{table} has no data: materialize {key.to_user_string()} for a business date."
            ),
            metadata={"row_count": 0},
        )
    rows = int(snapshot.summary["total-records"]) if snapshot.summary else 0
    hours = ((now or time.time()) * 1000 - snapshot.timestamp_ms) / 3_600_000
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
        description="; ".join(problems)
        or ("rows present, fresh" + (", nothing quarantined" if quarantined == 0 else "")),
        metadata={
            "row_count": rows,
            **({} if quarantined is None else {"quarantined_rows": quarantined}),
            "hours_since_last_load": round(hours, 2),
            "last_loaded_at": dg.MetadataValue.timestamp(snapshot.timestamp_ms / 1000),
            "iceberg_snapshot_id": str(snapshot.snapshot_id),
        },
    )


def build_raw_table_checks(landed: Sequence[str]) -> dg.AssetChecksDefinition:
    """The health check of every shop table and of every ``landed`` table (``landed_tables``)."""
    landed_set = set(landed)
    specs = [
        dg.AssetCheckSpec(
            CHECK_NAME,
            asset=raw_asset_key(table),
            description="Rows present and loaded within the last day and a half"
            + (", nothing quarantined." if table in landed_set else "."),
        )
        for table in (*TABLES, *landed)
    ]

    @dg.multi_asset_check(specs=specs, can_subset=True, name="raw_table_checks")
    def raw_table_checks(
        context: dg.AssetCheckExecutionContext, lakehouse: LakehouseResource
    ) -> Iterator[dg.AssetCheckResult]:
        catalog = get_catalog(lakehouse.settings())
        tables = [table_name(key.asset_key) for key in context.selected_asset_check_keys]
        counts = quarantined_by_table(catalog) if landed_set.intersection(tables) else Counter()
        for table in tables:
            quarantined = counts[table] if table in landed_set else None
            yield table_health(catalog, table, quarantined=quarantined)

    return raw_table_checks
