"""Definition and materialization metadata shared by the assets that write raw Iceberg tables."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import dagster as dg

from ingestion.shop import TABLES as SHOP_TABLES
from lakehouse.catalog import table_identifier
from lakehouse.layers import Layer

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog


def source_table_key(source: str, table: str) -> dg.AssetKey:
    """``raw/<source>_<table>``: the key of a table a dlt source writes into ``raw``.

    The UI names an asset by the last part of its key, so ``raw/orders`` and ``silver/orders``
    both read "orders"; the source's name tells them apart, as the landed tables' names
    (``partners_stores``) already do. The table keeps its own name, ``raw.<table>``
    (``dagster/table_name``), and the dbt source on it carries the same key (``__sources.yml``).
    """
    return dg.AssetKey([Layer.RAW.value, f"{source}_{table}"])


# The shop's tables are the one source whose keys and table names differ (landed tables are
# named <source>_<table> in the catalog too).
SHOP_SOURCE = "shop"
SHOP_KEY_BY_TABLE = {table: source_table_key(SHOP_SOURCE, table) for table in SHOP_TABLES}
SHOP_TABLE_BY_KEY = {key: table for table, key in SHOP_KEY_BY_TABLE.items()}


def raw_asset_key(table: str) -> dg.AssetKey:
    """The key of the asset that writes ``raw.<table>``."""
    return SHOP_KEY_BY_TABLE.get(table) or dg.AssetKey([Layer.RAW.value, table])


def table_asset_key(identifier: str) -> dg.AssetKey:
    """The key of the asset that writes the Iceberg table ``<namespace>.<table>``."""
    namespace, table = identifier.split(".")
    return raw_asset_key(table) if namespace == Layer.RAW.value else dg.AssetKey([namespace, table])


def table_name(key: dg.AssetKey) -> str:
    """The name, in its namespace, of the Iceberg table the asset ``key`` writes."""
    return SHOP_TABLE_BY_KEY.get(key, key.path[-1])


def iceberg_identifier(key: dg.AssetKey) -> str:
    """The Iceberg table ``<namespace>.<table>`` the asset ``key`` writes, e.g. ``raw.orders``."""
    return f"{key.path[0]}.{table_name(key)}"


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
    # pyiceberg and DuckDB when a run reports, not when the code location loads (also below)
    from pyiceberg.exceptions import NoSuchTableError

    from lakehouse.inventory import table_row_count

    try:
        iceberg_table = catalog.load_table(table_identifier(Layer.RAW, table))
    except NoSuchTableError:
        return {"dagster/row_count": 0}
    snapshot = iceberg_table.current_snapshot()
    return {
        "dagster/row_count": table_row_count(iceberg_table),
        "iceberg_snapshot_id": str(snapshot.snapshot_id) if snapshot else "",
    }
