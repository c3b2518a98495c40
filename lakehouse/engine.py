"""DuckDB, the embedded engine, wired to the Iceberg catalog.

DuckDB reads Iceberg tables through its ``iceberg`` extension. Two things make that work offline
and correctly:

* extensions are loaded from the ``duckdb-extension-*`` wheels (``INSTALL`` would download);
* tables are read at the metadata file the *catalog* points to, not by guessing the newest
  file in the table folder (which could expose a commit that the catalog never accepted).

Each raw Iceberg table becomes a view ``raw.<table>`` in the DuckDB database, refreshed every time
a connection is opened, so dbt sees the catalog's current snapshot (consumers read through
``lakehouse.read`` and ``make sql`` instead, which never open the pipeline's file).
"""

from __future__ import annotations

import importlib
import logging
from functools import cache
from pathlib import Path

import duckdb
from pyiceberg.catalog import Catalog

from lakehouse.catalog import layer_tables
from lakehouse.layers import Layer

log = logging.getLogger(__name__)

# avro first: iceberg reads its manifests with it.
ICEBERG_EXTENSIONS = ("avro", "iceberg")


@cache
def extension_path(name: str) -> Path:
    """Path of the extension binary shipped in the ``duckdb-extension-<name>`` wheel."""
    try:
        module = importlib.import_module(f"duckdb_extension_{name}")
    except ImportError as exc:
        raise RuntimeError(
            f"DuckDB extension '{name}' is not installed: run `make setup` "
            f"(it comes from the duckdb-extension-{name} package)."
        ) from exc
    root = Path(module.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    binary = root / f"{name}.duckdb_extension"
    if not binary.exists():
        raise RuntimeError(
            f"{binary} is missing: duckdb-extension-{name} must match duckdb=={duckdb.__version__}."
        )
    return binary


def load_extensions(
    conn: duckdb.DuckDBPyConnection, names: tuple[str, ...] = ICEBERG_EXTENSIONS
) -> None:
    for name in names:
        conn.execute(f"LOAD '{extension_path(name)}'")


def refresh_layer_views(
    conn: duckdb.DuckDBPyConnection, catalog: Catalog, layer: Layer = Layer.RAW
) -> list[str]:
    """(Re)create one view per Iceberg table of ``layer`` at its current metadata file."""
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {layer.value}")
    names = []
    for name, table in layer_tables(catalog, layer).items():
        conn.execute(
            f'CREATE OR REPLACE VIEW {layer.value}."{name}" AS '
            f"SELECT * FROM iceberg_scan('{table.metadata_location}')"
        )
        names.append(name)
    if not names:
        log.warning(
            "No Iceberg tables in namespace '%s' yet: materialize the ingestion assets first "
            "(make demo, or the 'raw_job' in `make dev`).",
            layer.value,
        )
    return names


def connect(
    database: Path | str, catalog: Catalog, *, read_only: bool = False
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the Iceberg extensions loaded and raw views current."""
    conn = duckdb.connect(str(database), read_only=read_only)
    load_extensions(conn)
    if not read_only:
        refresh_layer_views(conn, catalog)
    return conn
