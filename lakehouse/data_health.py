"""The data-health figures as Iceberg tables in the namespace ``health``, through the project's
catalog on both profiles, so every engine reads them (DuckDB on the laptop, Trino in the cluster):

- ``health.tables``: rows and last update of every raw, silver and gold table (silver and gold at
  the build the registry publishes, raw at its current snapshot), from the snapshot summaries;
- ``health.quarantined_rows``: rows of ``raw.quarantine`` per source, table and reason;
- ``health.last_runs``: the last finished run of each job (the orchestrator hands them in).

Each table is replaced whole by one ``overwrite`` (one snapshot): a re-run replaces the figures,
never adds to them, and a failed write leaves the previous figures in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.schema import Schema
from pyiceberg.types import LongType, NestedField, StringType, TimestampType

from ingestion.landing.settings import QUARANTINE_TABLE
from lakehouse.catalog import ensure_namespace, layer_tables, table_identifier
from lakehouse.layers import HEALTH_NAMESPACE, Layer
from lakehouse.reading import resolve_snapshot

MEASURED_LAYERS = (Layer.RAW, Layer.SILVER, Layer.GOLD)  # bronze is views in dbt's engine

TABLES_SCHEMA = Schema(
    NestedField(1, "layer", StringType(), required=True),
    NestedField(2, "table_name", StringType(), required=True),
    NestedField(3, "row_count", LongType(), required=True),
    NestedField(4, "snapshot_id", LongType(), required=False),  # None: never written
    NestedField(5, "last_updated_at", TimestampType(), required=False),
    NestedField(6, "measured_at", TimestampType(), required=True),
)
QUARANTINE_SCHEMA = Schema(
    NestedField(1, "source", StringType(), required=False),
    NestedField(2, "table_name", StringType(), required=False),
    NestedField(3, "reason", StringType(), required=False),
    NestedField(4, "quarantined_rows", LongType(), required=True),
    NestedField(5, "measured_at", TimestampType(), required=True),
)
RUNS_SCHEMA = Schema(
    NestedField(1, "job_name", StringType(), required=True),
    NestedField(2, "status", StringType(), required=True),
    NestedField(3, "started_at", TimestampType(), required=False),
    NestedField(4, "ended_at", TimestampType(), required=False),
    NestedField(5, "run_id", StringType(), required=True),
    NestedField(6, "measured_at", TimestampType(), required=True),
)
SCHEMAS = {"tables": TABLES_SCHEMA, "quarantined_rows": QUARANTINE_SCHEMA, "last_runs": RUNS_SCHEMA}


@dataclass(frozen=True)
class RunFigure:
    job_name: str
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    run_id: str


def naive_utc(moment: datetime) -> datetime:
    """Iceberg ``timestamp`` (without zone) holds UTC wall time; Superset shows it as it is."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def table_figures(catalog: Catalog, measured_at: datetime) -> pa.Table:
    rows = []
    for layer in MEASURED_LAYERS:
        for name, table in layer_tables(catalog, layer).items():
            snapshot_id = resolve_snapshot(catalog, table, table_identifier(layer, name))
            snapshot = table.snapshot_by_id(snapshot_id) if snapshot_id is not None else None
            updated = (
                datetime.fromtimestamp(snapshot.timestamp_ms / 1000, UTC) if snapshot else None
            )
            rows.append(
                {
                    "layer": layer.value,
                    "table_name": name,
                    "row_count": int(snapshot.summary["total-records"]) if snapshot else 0,
                    "snapshot_id": snapshot_id,
                    "last_updated_at": naive_utc(updated) if updated else None,
                    "measured_at": naive_utc(measured_at),
                }
            )
    return pa.Table.from_pylist(rows, schema=TABLES_SCHEMA.as_arrow())


def quarantine_figures(catalog: Catalog, measured_at: datetime) -> pa.Table:
    schema = QUARANTINE_SCHEMA.as_arrow()
    table = layer_tables(catalog, Layer.RAW).get(QUARANTINE_TABLE)
    if table is None or table.current_snapshot() is None:
        return schema.empty_table()  # nothing was ever quarantined
    keys = ["source", "table_name", "reason"]
    counts = (
        table.scan(selected_fields=tuple(keys))
        .to_arrow()
        .group_by(keys)
        .aggregate([([], "count_all")])
    )
    measured = pa.array([naive_utc(measured_at)] * counts.num_rows, pa.timestamp("us"))
    figures = counts.select(keys).append_column("quarantined_rows", counts["count_all"])
    return figures.append_column("measured_at", measured).cast(schema)


def run_figures(runs: Sequence[RunFigure], measured_at: datetime) -> pa.Table:
    rows = [
        {
            "job_name": run.job_name,
            "status": run.status,
            "started_at": naive_utc(run.started_at) if run.started_at else None,
            "ended_at": naive_utc(run.ended_at) if run.ended_at else None,
            "run_id": run.run_id,
            "measured_at": naive_utc(measured_at),
        }
        for run in sorted(runs, key=lambda run: run.job_name)
    ]
    return pa.Table.from_pylist(rows, schema=RUNS_SCHEMA.as_arrow())


def write_figures(catalog: Catalog, figures: dict[str, pa.Table]) -> dict[str, int]:
    """Replace each ``health.<name>`` with its figures (one snapshot per table); rows written."""
    ensure_namespace(catalog, HEALTH_NAMESPACE)
    written = {}
    for name, rows in figures.items():
        table = catalog.create_table_if_not_exists(f"{HEALTH_NAMESPACE}.{name}", SCHEMAS[name])
        table.overwrite(rows)
        written[name] = rows.num_rows
    return written


def measure(
    catalog: Catalog, runs: Sequence[RunFigure], measured_at: datetime | None = None
) -> dict[str, int]:
    """Measure every figure, then write them: a failed measurement writes nothing."""
    measured_at = measured_at or datetime.now(UTC)
    figures = {
        "tables": table_figures(catalog, measured_at),
        "quarantined_rows": quarantine_figures(catalog, measured_at),
        "last_runs": run_figures(runs, measured_at),
    }
    return write_figures(catalog, figures)
