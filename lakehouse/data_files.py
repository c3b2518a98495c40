"""Write a stream of rows into an Iceberg table in one commit, one batch in memory at a time.

pyiceberg 0.12 takes a ``RecordBatchReader`` in ``append``/``overwrite`` and bin-packs it into
files, but hands the bins to its thread pool with ``Executor.map`` (``pyiceberg/io/pyarrow.py``,
``write_file``), which submits every bin before the first is written: a reader faster than the
Parquet encoder is held in memory nearly whole. Measured here, 36M rows from a fast reader: 880 MB
above the process's base, growing with the rows; at scale 48 the publish of ``order_items`` (8M
rows) took the run's process to 2.4 GB. So the rows are written here, each batch encoded to
Parquet as it arrives, into the table's data folder through the table's own FileIO, and the files
are committed with the public ``add_files`` (the raw tables' way in, ``ingestion/iceberg_files.py``):
what it requires of the files (no Parquet field IDs; columns matched through the name mapping it
sets) is met by files written from the reader's own schema. Readers resolve such files through
that mapping as they already do the raw tables': pyiceberg, DuckDB's ``iceberg_scan``, and
Trino on the cluster (trinodb/trino#9959; static here, no Trino runs on this machine).
"""

from __future__ import annotations

from collections.abc import Iterator
from uuid import uuid4

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.expressions import BooleanExpression
from pyiceberg.table import Table, TableProperties

# pyiceberg reads write.target-file-size-bytes as uncompressed Arrow bytes (its bin-packing
# weight, documented on Transaction.append); a file here is closed at the same weight.
FILE_SIZE_PROPERTY = TableProperties.WRITE_TARGET_FILE_SIZE_BYTES


def setting(table: Table, name: str, default: int) -> int:
    return int(table.properties.get(name, default))


def parquet_options(table: Table) -> dict:
    """The table's Parquet write properties as pyarrow options, as pyiceberg's own writer maps
    them (``_get_parquet_writer_kwargs`` and ``ParquetFormatWriter`` in pyiceberg/io/pyarrow.py):
    Iceberg's ``uncompressed`` is pyarrow's ``none``; decimals are stored as integers."""
    props = TableProperties
    codec = table.properties.get(props.PARQUET_COMPRESSION, props.PARQUET_COMPRESSION_DEFAULT)
    level = table.properties.get(props.PARQUET_COMPRESSION_LEVEL)
    return {
        "compression": "none" if codec == "uncompressed" else codec,
        "compression_level": int(level) if level else None,
        "data_page_size": setting(
            table, props.PARQUET_PAGE_SIZE_BYTES, props.PARQUET_PAGE_SIZE_BYTES_DEFAULT
        ),
        "dictionary_pagesize_limit": setting(
            table, props.PARQUET_DICT_SIZE_BYTES, props.PARQUET_DICT_SIZE_BYTES_DEFAULT
        ),
        "write_batch_size": setting(
            table, props.PARQUET_PAGE_ROW_LIMIT, props.PARQUET_PAGE_ROW_LIMIT_DEFAULT
        ),
        "store_decimal_as_integer": True,
    }


def file_schema(schema: pa.Schema) -> pa.Schema:
    """The reader's schema as the files store it: a dictionary column (a DuckDB ENUM) as its
    values, which Iceberg types as the values' type (pyiceberg casts them so on write)."""
    return pa.schema(
        field.with_type(field.type.value_type) if pa.types.is_dictionary(field.type) else field
        for field in schema
    )


def row_groups(batches: pa.RecordBatchReader, schema: pa.Schema, rows: int) -> Iterator[pa.Table]:
    """The reader's rows in pieces of ``rows`` rows or fewer (the last), one piece in memory."""

    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch if batch.schema == schema else batch.cast(schema))
        count += batch.num_rows
        if count >= rows:
            group = pa.Table.from_batches(pending, schema=schema)
            yield group.slice(0, rows)
            rest = group.slice(rows)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending, schema=schema)


def write_data_files(table: Table, batches: pa.RecordBatchReader) -> list[str]:
    """The reader's rows as new Parquet files under the table's data location (not committed).

    Row groups hold the table's ``write.parquet.row-group-limit`` rows, whatever the reader's
    batch size; a file is closed once the Arrow bytes written into it reach the table's target
    file size. An empty reader still gives one (empty) file, so its commit records a snapshot.
    """
    target = setting(
        table, FILE_SIZE_PROPERTY, TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT
    )
    group_rows = setting(
        table,
        TableProperties.PARQUET_ROW_GROUP_LIMIT,
        TableProperties.PARQUET_ROW_GROUP_LIMIT_DEFAULT,
    )
    schema, options = file_schema(batches.schema), parquet_options(table)
    locations, prefix = table.location_provider(), uuid4().hex
    files: list[str] = []
    stream = writer = None
    written = 0

    def open_file() -> None:
        nonlocal stream, writer
        files.append(locations.new_data_location(f"{prefix}-{len(files):05d}.parquet"))
        stream = table.io.new_output(files[-1]).create(overwrite=True)
        writer = pq.ParquetWriter(stream, schema, **options)

    def close_file() -> None:
        nonlocal stream, writer, written
        if writer is not None:
            writer.close()
            stream.close()
        stream = writer = None
        written = 0

    try:
        for group in row_groups(batches, schema, group_rows):
            if writer is None:
                open_file()
            writer.write_table(group, row_group_size=group_rows)
            written += group.nbytes
            if written >= target:
                close_file()
        if not files:
            open_file()
    finally:
        close_file()
        batches.close()
    return files


def commit_rows(
    table: Table,
    batches: pa.RecordBatchReader,
    snapshot_properties: dict[str, str],
    replacing: BooleanExpression | None = None,
) -> None:
    """One commit: the rows matching ``replacing`` deleted (none when None), then ``batches``
    added, as ``overwrite`` (delete, then append) or ``append`` would commit them."""
    files = write_data_files(table, batches)
    with table.transaction() as tx:
        if replacing is not None:
            tx.delete(replacing, snapshot_properties=snapshot_properties)
        # Fresh file names: the duplicate check would read every manifest for nothing.
        tx.add_files(files, snapshot_properties=snapshot_properties, check_duplicate_files=False)
