"""Content hashes of Iceberg tables: equal hashes mean the same data (a re-run changed nothing)."""

from __future__ import annotations

import hashlib

import pyarrow as pa
from pyiceberg.catalog import Catalog

from lakehouse.catalog import layer_tables
from lakehouse.layers import Layer


def content_hash(table: pa.Table) -> str:
    """SHA-256 of a table's rows, independent of row order, file layout and dlt's bookkeeping
    columns (``_dlt_*``, e.g. the load id): equal hashes mean the same data, so a re-run that
    "changed nothing" can be checked as exactly that."""
    columns = sorted(name for name in table.column_names if not name.startswith("_dlt"))
    table = table.select(columns)
    if table.num_rows:
        table = table.sort_by([(name, "ascending") for name in columns])
    # Rebuild the schema without metadata (pyiceberg adds field ids) so only the data counts.
    schema = pa.schema([pa.field(f.name, f.type) for f in table.schema])
    table = pa.Table.from_arrays([c.combine_chunks() for c in table.columns], schema=schema)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, schema) as writer:
        writer.write_table(table)
    return hashlib.sha256(sink.getvalue().to_pybytes()).hexdigest()


def table_content_hashes(catalog: Catalog, layer: Layer = Layer.RAW) -> dict[str, str]:
    """``content_hash`` of every data table of ``layer`` (dlt's own tables skipped)."""
    return {
        name: content_hash(table.scan().to_arrow())
        for name, table in layer_tables(catalog, layer).items()
    }
