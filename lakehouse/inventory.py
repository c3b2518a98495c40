"""What is in the lakehouse: row counts per layer and table, read from the catalog and engine."""

from __future__ import annotations

import duckdb
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from lakehouse.catalog import layer_tables
from lakehouse.layers import Layer


def iceberg_row_counts(catalog: Catalog, layer: Layer = Layer.RAW) -> dict[str, int]:
    """Rows per Iceberg table of ``layer``, from snapshot summaries (no data is scanned)."""
    return {name: table_row_count(table) for name, table in layer_tables(catalog, layer).items()}


def table_row_count(table: Table) -> int:
    """Rows of an Iceberg table from its current snapshot's summary (no data is scanned)."""
    snapshot = table.current_snapshot()
    return int(snapshot.summary["total-records"]) if snapshot else 0


def duckdb_row_counts(conn: duckdb.DuckDBPyConnection, layer: Layer) -> dict[str, int]:
    """Rows per table or view that dbt built into ``layer`` of the DuckDB database."""
    names = conn.execute(
        "select table_name from information_schema.tables where table_schema = ? order by 1",
        [layer.value],
    ).fetchall()
    return {
        name: conn.execute(f'select count(*) from {layer.value}."{name}"').fetchone()[0]
        for (name,) in names
    }


def layer_row_counts(
    catalog: Catalog, conn: duckdb.DuckDBPyConnection
) -> dict[Layer, dict[str, int]]:
    """Row counts of every layer on the embedded default: raw from Iceberg, the rest from DuckDB."""
    counts = {Layer.RAW: iceberg_row_counts(catalog)}
    for layer in (Layer.BRONZE, Layer.SILVER, Layer.GOLD):
        counts[layer] = duckdb_row_counts(conn, layer)
    return counts
