"""Definition and materialization metadata shared by the assets that write raw Iceberg tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError

from lakehouse.catalog import table_identifier
from lakehouse.inventory import table_row_count
from lakehouse.layers import Layer


def raw_table_attributes(table: str) -> dict[str, Any]:
    """What every raw asset says about itself: Iceberg, written by dlt, the table's full name."""
    return {
        "kinds": {"dlt", "iceberg"},
        # Dagster's documented table metadata keys (what the UI shows as Storage).
        "metadata": {
            "dagster/table_name": f"{Layer.RAW.value}.{table}",
            "dagster/storage_kind": "iceberg",
        },
    }


def raw_source_docs(manifest: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Description and owners of each table of the dbt source ``raw``, by table name.

    The dbt source documents the tables dlt writes; the raw assets show the same words instead
    of "No description". Owners come from the source's ``meta.owner``.
    """
    docs = {}
    for source in manifest["sources"].values():
        if source["source_name"] != Layer.RAW.value:
            continue
        owner = source.get("meta", {}).get("owner")
        docs[source["name"]] = {
            "description": source.get("description") or None,
            "owners": [owner] if owner else [],
        }
    return docs


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
