"""Commit a Parquet file dlt wrote to an Iceberg table: once, without encoding its rows again.

dlt's normalize step already encodes every row to Parquet. pyiceberg's ``add_files`` commits such
a file as an Iceberg data file as it is, with the column statistics read from its footer
(pyiceberg 0.12 ``pyiceberg/io/pyarrow.py`` ``parquet_file_to_data_file``). What it needs from the
file, checked in that same source:

* columns matched by name: files without Parquet field IDs (dlt writes none) are read through the
  table's ``schema.name-mapping.default``, which ``add_files`` sets when missing and
  ``update_schema()`` keeps in step with new columns (``pyiceberg/table/update/schema.py``);
* types the table schema accepts (``_check_pyarrow_schema_compatible``): the table is created from
  the file's own schema, and a later file's new columns are added first with
  ``update_schema().union_by_name()`` in the same transaction.

Exactly once: the commit records ``(dlt.load-id, dlt.job-id)`` in its snapshot summary, and a job
whose pair is already in the table's snapshot history is not committed again (dlt re-runs a job
it had started when the process died). Rows and marker are one atomic Iceberg commit. The
history is read from table metadata, so snapshot expiry must keep the last few hours.

Merges (tables with a primary key, dlt's ``merge`` disposition) are one commit too: the file is
added as it is when none of its keys is in the table yet (the daily case); a re-delivered key is
upserted and the file's other rows appended.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from urllib.parse import urlparse

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyiceberg.expressions import (
    AlwaysTrue,
    And,
    BooleanExpression,
    GreaterThanOrEqual,
    LessThanOrEqual,
)
from pyiceberg.table import Table, Transaction

from lakehouse import data_files

LOAD_ID_PROPERTY = "dlt.load-id"
JOB_ID_PROPERTY = "dlt.job-id"
LOAD_ID_COLUMN = "_dlt_load_id"  # dlt's lineage column: the load that wrote each row
# Rows per piece when a re-delivery makes a merge read the file's rows (bounded memory).
PIECE_ROWS = 250_000
UPSERT_ROWS = 5_000  # rows per pyiceberg upsert (its match filter grows a term per row)


def committed_jobs(table: Table) -> set[tuple[str, str]]:
    """``(load id, job id)`` of every job committed to ``table``."""
    jobs = set()
    for snapshot in table.snapshots():
        summary = snapshot.summary
        if summary is not None and summary[LOAD_ID_PROPERTY] and summary[JOB_ID_PROPERTY]:
            jobs.add((summary[LOAD_ID_PROPERTY], summary[JOB_ID_PROPERTY]))
    return jobs


def marker(load_id: str, job_id: str) -> dict[str, str]:
    return {LOAD_ID_PROPERTY: load_id, JOB_ID_PROPERTY: job_id}


def place_file(table: Table, local_path: str, name: str) -> str:
    """The job's file under the table's ``data/`` folder; returns its location.

    A local table gets a hard link (no bytes copied; a copy across file systems); an object
    store gets an upload through the table's own FileIO. The name is fixed per job, so a job
    re-run after a crash overwrites its own earlier, uncommitted placement.
    """
    location = f"{table.location().rstrip('/')}/data/{name}"
    url = urlparse(location)
    if url.scheme in ("", "file"):
        target = url.path
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if os.path.exists(target):
            os.remove(target)
        try:
            os.link(local_path, target)
        except OSError:
            shutil.copyfile(local_path, target)
        # A link keeps dlt's file's mtime, which may already be older than the orphan sweep's
        # safety window (a package resumed days later): the file is new to the table now.
        os.utime(target)
        return location
    with open(local_path, "rb") as source, table.io.new_output(location).create(True) as sink:
        shutil.copyfileobj(source, sink, length=8 << 20)
    return location


def file_schema(local_path: str) -> pa.Schema:
    """The Parquet file's schema as Iceberg types it: a dictionary-encoded column is its values."""
    return data_files.file_schema(pq.read_schema(local_path))


def evolve_schema(tx: Transaction, local_path: str) -> None:
    """Add the file's new columns to the table (types widen where Iceberg allows)."""
    schema = file_schema(local_path)
    if set(schema.names) - set(tx.table_metadata.schema().column_names):
        with tx.update_schema() as update:
            update.union_by_name(schema)


def commit_append(
    table: Table,
    local_path: str,
    name: str,
    properties: dict[str, str],
    table_properties: dict[str, str] | None = None,
) -> None:
    """One commit: the job's file placed as data file ``name``, new columns, the job's marker
    (and ``table_properties``)."""
    location = place_file(table, local_path, name)
    with table.transaction() as tx:
        evolve_schema(tx, local_path)
        if table_properties:
            tx.set_properties(table_properties)
        # The marker check guards re-adding a job's file; the duplicate scan reads every manifest.
        tx.add_files([location], snapshot_properties=properties, check_duplicate_files=False)


def key_range_filter(data: pa.Table, keys: list[str]) -> BooleanExpression:
    """Rows whose every key column lies within the incoming rows' range (prunes by file stats)."""
    condition: BooleanExpression = AlwaysTrue()
    for key in keys:
        low, high = pc.min_max(data.column(key)).values()
        condition = And(
            condition,
            And(GreaterThanOrEqual(key, low.as_py()), LessThanOrEqual(key, high.as_py())),
        )
    return condition


def pieces(path: str) -> Iterator[pa.Table]:
    """A Parquet file as tables of at most ``PIECE_ROWS`` rows, read lazily."""
    parquet, schema = pq.ParquetFile(path), file_schema(path)
    for batch in parquet.iter_batches(batch_size=PIECE_ROWS):
        yield pa.Table.from_batches([batch]).cast(schema)


def merge_file(
    table: Table,
    local_path: str,
    keys: list[str],
    place: str,
    properties: dict[str, str],
    table_properties: dict[str, str] | None = None,
) -> None:
    """Upsert the file's rows into ``table`` on ``keys`` in one commit.

    ``place`` is the data file name used when the file can be added as it is.
    """
    incoming = pq.read_table(local_path, columns=keys)
    if incoming.group_by(keys).aggregate([]).num_rows != incoming.num_rows:
        raise ValueError(
            f"{table.name()}: the incoming rows repeat a primary key {keys}; a merge needs one "
            "row per key in a load (deduplicate the source's rows first)"
        )
    if not incoming.num_rows:
        return
    known = pa.table({key: pa.array([], incoming.schema.field(key).type) for key in keys})
    if table.current_snapshot() is not None:
        scan = table.scan(row_filter=key_range_filter(incoming, keys), selected_fields=tuple(keys))
        known = scan.to_arrow().cast(incoming.schema)
    if not known.num_rows or not incoming.join(known, keys, join_type="left semi").num_rows:
        commit_append(table, local_path, place, properties, table_properties)
        return
    with table.transaction() as tx:
        evolve_schema(tx, local_path)
        if table_properties:
            tx.set_properties(table_properties)
        for piece in pieces(local_path):
            # a join drops the schema's not-null flags, which Iceberg's required columns need
            new = piece.join(known, keys, join_type="left anti").select(piece.column_names)
            again = piece.join(known, keys, join_type="left semi").select(piece.column_names)
            if new.num_rows:
                tx.append(new.cast(piece.schema), snapshot_properties=properties)
            # pyiceberg matches a composite key with one OR term per row
            # (pyiceberg/table/upsert_util.py, create_match_filter, 0.12): a 250k-row upsert
            # nested it deep enough to crash the interpreter. Slices keep it shallow.
            for start in range(0, again.num_rows, UPSERT_ROWS):
                tx.upsert(
                    again.slice(start, UPSERT_ROWS).cast(piece.schema),
                    join_cols=keys,
                    snapshot_properties=properties,
                )
