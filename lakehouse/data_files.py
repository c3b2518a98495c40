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

from uuid import uuid4

import pyarrow as pa
import pyarrow.parquet as pq
from pyiceberg.expressions import BooleanExpression
from pyiceberg.table import Table, TableProperties

# pyiceberg reads write.target-file-size-bytes as uncompressed Arrow bytes (its bin-packing
# weight, documented on Transaction.append); a file here is closed at the same weight.
FILE_SIZE_PROPERTY = TableProperties.WRITE_TARGET_FILE_SIZE_BYTES


def write_data_files(table: Table, batches: pa.RecordBatchReader) -> list[str]:
    """The reader's rows as new Parquet files under the table's data location (not committed).

    A file is closed once the Arrow bytes written into it reach the table's target file size;
    an empty reader still gives one (empty) file, so its commit records a snapshot.
    """
    properties = table.properties
    target = int(
        properties.get(FILE_SIZE_PROPERTY, TableProperties.WRITE_TARGET_FILE_SIZE_BYTES_DEFAULT)
    )
    compression = properties.get(
        TableProperties.PARQUET_COMPRESSION, TableProperties.PARQUET_COMPRESSION_DEFAULT
    )
    row_group_rows = int(
        properties.get(
            TableProperties.PARQUET_ROW_GROUP_LIMIT, TableProperties.PARQUET_ROW_GROUP_LIMIT_DEFAULT
        )
    )
    locations, prefix = table.location_provider(), uuid4().hex
    files: list[str] = []
    stream = writer = None
    written = 0

    def close() -> None:
        nonlocal stream, writer, written
        if writer is not None:
            writer.close()
            stream.close()
        stream = writer = None
        written = 0

    try:
        for batch in batches:
            if writer is None:
                files.append(locations.new_data_location(f"{prefix}-{len(files):05d}.parquet"))
                stream = table.io.new_output(files[-1]).create(overwrite=True)
                writer = pq.ParquetWriter(stream, batches.schema, compression=compression)
            writer.write_batch(batch, row_group_size=row_group_rows)
            written += batch.nbytes
            if written >= target:
                close()
        if not files:
            files.append(locations.new_data_location(f"{prefix}-00000.parquet"))
            with table.io.new_output(files[-1]).create(overwrite=True) as empty:
                pq.ParquetWriter(empty, batches.schema, compression=compression).close()
    finally:
        close()
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
