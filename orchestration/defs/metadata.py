"""Materialization metadata shared by the assets that write raw Iceberg tables."""

from __future__ import annotations

from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError

from lakehouse.catalog import table_identifier
from lakehouse.inventory import table_row_count
from lakehouse.layers import Layer


def raw_table_metadata(catalog: Catalog, table: str) -> dict[str, Any]:
    """Row count (Dagster's ``dagster/row_count``) and current snapshot of ``raw.<table>``."""
    try:
        iceberg_table = catalog.load_table(table_identifier(Layer.RAW, table))
    except NoSuchTableError:
        return {"dagster/row_count": 0}
    snapshot = iceberg_table.current_snapshot()
    return {
        "dagster/row_count": table_row_count(iceberg_table),
        "iceberg_snapshot_id": str(snapshot.snapshot_id) if snapshot else "",
    }
