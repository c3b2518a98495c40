"""The DuckDB file Superset reads on the laptop: views over the published gold Iceberg tables, and
a small ``health`` schema measured when it is refreshed.

    python -m analytics.views        (make dashboards runs it before Superset starts)

Why a file of views, rebuilt here, rather than Superset opening the pipeline's DuckDB file or
resolving tables itself: the pipeline's file is held by every dbt run (one writer per file) and
holds unpublished builds; resolving the published snapshot needs pyiceberg and the build registry,
which live in the code location's environment, not Superset's (SQLAlchemy 1.4). So this module
resolves each gold table to its published snapshot (``lakehouse.reading``, the rule of
``make sql``) and stores only ``iceberg_scan`` views pinned to it. Superset opens the file
read-only and scans the Iceberg files directly; no lock is shared with a run, and a build
published after the refresh shows once ``make dashboards`` (or this module) runs again. The file
is written beside the old one and moved over it, so a reader never sees it half-written.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from lakehouse.catalog import get_catalog, layer_tables, table_identifier
from lakehouse.engine import load_extensions
from lakehouse.layers import Layer
from lakehouse.reading import resolve_snapshot, scan_sql
from lakehouse.settings import Settings

HEALTH_LAYERS = (Layer.RAW, Layer.SILVER, Layer.GOLD)  # bronze is views in dbt's engine
QUARANTINE = "quarantine"  # raw.quarantine, written by the landing assets
RUNS_LOOKED_AT = 500


def utc(seconds: float | None) -> datetime | None:
    """Seconds since the epoch as a naive UTC timestamp (Superset shows naive times as they are)."""
    return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None) if seconds else None


def views_path(settings: Settings) -> Path:
    return settings.data_dir / "superset" / "lakehouse.duckdb"


def published_snapshot(catalog: Catalog, layer: Layer, name: str, table: Table) -> int | None:
    """Silver and gold at the build the registry names; raw at its current snapshot."""
    return resolve_snapshot(catalog, table, table_identifier(layer, name))


def create_gold_views(conn: duckdb.DuckDBPyConnection, catalog: Catalog) -> list[str]:
    conn.execute("CREATE SCHEMA gold")
    created = []
    for name, table in layer_tables(catalog, Layer.GOLD).items():
        snapshot_id = published_snapshot(catalog, Layer.GOLD, name, table)
        if snapshot_id is not None:
            conn.execute(f'CREATE VIEW gold."{name}" AS {scan_sql(table, snapshot_id)}')
            created.append(name)
    return created


def create_table_health(
    conn: duckdb.DuckDBPyConnection, catalog: Catalog, measured_at: datetime
) -> None:
    rows = []
    for layer in HEALTH_LAYERS:
        for name, table in layer_tables(catalog, layer).items():
            snapshot_id = published_snapshot(catalog, layer, name, table)
            snapshot = table.snapshot_by_id(snapshot_id) if snapshot_id is not None else None
            rows.append(
                (
                    layer.value,
                    name,
                    int(snapshot.summary["total-records"]) if snapshot else 0,
                    utc(snapshot.timestamp_ms / 1000) if snapshot else None,
                )
            )
    conn.execute(
        "CREATE TABLE health.tables (layer VARCHAR, table_name VARCHAR, row_count BIGINT, "
        "last_updated_at TIMESTAMP, measured_at TIMESTAMP)"
    )
    conn.executemany(
        "INSERT INTO health.tables VALUES (?, ?, ?, ?, ?)",
        [(*row, measured_at.replace(tzinfo=None)) for row in rows],
    )


def create_quarantine_health(conn: duckdb.DuckDBPyConnection, catalog: Catalog) -> None:
    conn.execute(
        "CREATE TABLE health.quarantine "
        "(source VARCHAR, table_name VARCHAR, reason VARCHAR, quarantined_rows BIGINT)"
    )
    table = layer_tables(catalog, Layer.RAW).get(QUARANTINE)
    snapshot = table.current_snapshot() if table is not None else None
    if snapshot is None:
        return  # nothing was ever quarantined
    conn.execute(
        "INSERT INTO health.quarantine SELECT source, table_name, reason, count(*) "
        f"FROM ({scan_sql(table, snapshot.snapshot_id)}) GROUP BY ALL"
    )


def create_run_health(conn: duckdb.DuckDBPyConnection) -> int:
    """The newest run of each job in the Dagster instance ($DAGSTER_HOME), if there is one."""
    conn.execute(
        "CREATE TABLE health.last_runs (job_name VARCHAR, status VARCHAR, "
        "started_at TIMESTAMP, ended_at TIMESTAMP, run_id VARCHAR)"
    )
    if not os.environ.get("DAGSTER_HOME"):
        return 0
    newest: dict[str, dg.RunRecord] = {}
    with dg.DagsterInstance.get() as instance:
        for record in instance.get_run_records(limit=RUNS_LOOKED_AT):  # newest first
            newest.setdefault(record.dagster_run.job_name, record)

    conn.executemany(
        "INSERT INTO health.last_runs VALUES (?, ?, ?, ?, ?)",
        [
            (
                job,
                record.dagster_run.status.value,
                utc(record.start_time),
                utc(record.end_time),
                record.dagster_run.run_id,
            )
            for job, record in sorted(newest.items())
        ],
    )
    return len(newest)


def refresh(settings: Settings) -> list[str]:
    """Rebuild the views file; returns the gold tables it shows."""
    catalog = get_catalog(settings)
    target = views_path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.with_name(f"{target.name}.building")
    building.unlink(missing_ok=True)
    conn = duckdb.connect(str(building))
    try:
        load_extensions(conn)  # CREATE VIEW binds iceberg_scan
        conn.execute("SET TimeZone = 'UTC'")
        gold = create_gold_views(conn, catalog)
        conn.execute("CREATE SCHEMA health")
        create_table_health(conn, catalog, datetime.now(UTC))
        create_quarantine_health(conn, catalog)
        create_run_health(conn)
    except BaseException:
        conn.close()
        building.unlink(missing_ok=True)
        raise
    conn.close()
    os.replace(building, target)
    return gold


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    settings = Settings.from_env()
    gold = refresh(settings)
    if not gold:
        print("no published gold table yet: run `make demo` first", file=sys.stderr)
        return 1
    print(f"{views_path(settings)}: views over gold.{', gold.'.join(gold)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
