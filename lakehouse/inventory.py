"""What is in the lakehouse: row counts per layer and table, read from the catalog and engine."""

from __future__ import annotations

import duckdb
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchNamespaceError

from lakehouse.layers import Layer


def iceberg_row_counts(catalog: Catalog, layer: Layer = Layer.RAW) -> dict[str, int]:
    """Rows per Iceberg table of ``layer``, from snapshot summaries (no data is scanned)."""
    counts: dict[str, int] = {}
    try:
        identifiers = catalog.list_tables(layer.value)
    except NoSuchNamespaceError:
        return counts
    for identifier in sorted(identifiers):
        name = identifier[-1]
        if name.startswith("_dlt"):
            continue
        snapshot = catalog.load_table(identifier).current_snapshot()
        counts[name] = int(snapshot.summary["total-records"]) if snapshot else 0
    return counts


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
