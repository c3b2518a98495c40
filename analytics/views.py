"""The DuckDB file Superset reads on the laptop: views over the published gold Iceberg tables and
the data-health tables (``health.*``, written by the data-health assets after each publish).

    python -m analytics.views        (make dashboards runs it; so does each data-health run)

Why a file of views rather than Superset opening the pipeline's DuckDB file or resolving tables
itself: the pipeline's file is held by every dbt run (one writer per file) and holds unpublished
builds; resolving the published snapshot needs pyiceberg and the build registry, which live in the
code location's environment, not Superset's (SQLAlchemy 1.4). So this module resolves each table
to its published snapshot (``lakehouse.reading``, the rule of ``make sql``; ``health.*`` and any
table outside the registry at its current one) and stores only ``iceberg_scan`` views pinned to
it. Superset opens the file read-only and scans the Iceberg files directly; no lock is shared with
a run. The data-health assets rebuild the file after each publish (orchestration/defs/health), so
a new build shows without restarting Superset. The file is written in a folder of its own beside
the old one and moved over it: a reader never sees it half-written, and two refreshes at once
never write the same file.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

import duckdb
from pyiceberg.catalog import Catalog

from lakehouse.catalog import get_catalog, namespace_tables
from lakehouse.engine import load_extensions
from lakehouse.layers import HEALTH_NAMESPACE, Layer
from lakehouse.reading import resolve_snapshot, scan_sql
from lakehouse.settings import Settings


def views_path(settings: Settings) -> Path:
    return settings.data_dir / "superset" / "lakehouse.duckdb"


def create_views(conn: duckdb.DuckDBPyConnection, catalog: Catalog, namespace: str) -> list[str]:
    """One view per table of ``namespace``, pinned to its published (or current) snapshot."""
    conn.execute(f'CREATE SCHEMA "{namespace}"')
    created = []
    for name, table in namespace_tables(catalog, namespace).items():
        snapshot_id = resolve_snapshot(catalog, table, f"{namespace}.{name}")
        if snapshot_id is not None:
            conn.execute(f'CREATE VIEW "{namespace}"."{name}" AS {scan_sql(table, snapshot_id)}')
            created.append(name)
    return created


def refresh(settings: Settings) -> tuple[list[str], list[str]]:
    """Rebuild the views file; returns the gold and the health tables it shows."""
    catalog = get_catalog(settings)
    target = views_path(settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        building = folder / target.name
        with duckdb.connect(str(building)) as conn:
            load_extensions(conn)  # CREATE VIEW binds iceberg_scan
            gold = create_views(conn, catalog, Layer.GOLD.value)
            health = create_views(conn, catalog, HEALTH_NAMESPACE)
        os.replace(building, target)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return gold, health


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    settings = Settings.from_env()
    gold, health = refresh(settings)
    if not gold:
        print("no published gold table yet: run `make demo` first", file=sys.stderr)
        return 1
    print(f"{views_path(settings)}: views over gold.{', gold.'.join(gold)}")
    if not health:
        print("no health.* tables yet: the Data health dashboard fills after the next run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
