"""dlt's filesystem destination with idempotent Iceberg appends (exactly once under kill -9).

dlt 1.31 appends an Iceberg job in ``IcebergLoadFilesystemJob.run`` (``table.append``) and marks
the job completed afterwards, by moving its file in the local load package. A process killed
between the two leaves the job in ``started_jobs``; the resumed load runs it again and, for an
``append`` table, the same rows would be appended twice.

This destination closes that window through dlt's own extension points, no patching: the factory
(:class:`idempotent_filesystem`, a subclass of ``dlt.destinations.filesystem``) returns a client
whose Iceberg job records ``(load id, job id)`` in the snapshot summary of every append it commits,
and skips the commit when the table's snapshot history already holds that pair. The marker is part
of the Iceberg commit itself, so "rows appended" and "marker written" are one atomic step.
The job id (``<table>.<file id>.reference``) does not change when dlt retries a job.

``merge`` jobs (the ``upsert`` strategy on a primary key) take a faster path than dlt 1.31's,
which upserts in batches of 1,000 rows, one Iceberg commit and one table scan each (hours at a
few million rows). Here a merge is one commit: for each piece of the incoming rows the keys
already in the table are read (pruned by the piece's key ranges, key columns only); rows with new
keys are appended and rows with known keys are upserted (the rare re-delivery), in one
transaction. A merge repeated is harmless, so it needs no marker. ``replace`` jobs are dlt's own.
The check reads the snapshot history kept in table metadata: expiring the snapshot of a load
before that load completed would reopen the window, so expire snapshots older than a few hours
only (a pending package is finished by the next run).

Appends and merges stream the job's files in pieces of ``PIECE_ROWS`` rows instead of reading
them whole (dlt's job does ``to_table()``): one load carries several business dates of a
backfill, and its memory must not grow with how many.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from dlt.common import logger
from dlt.common.destination.client import PreparedTableSchema
from dlt.common.destination.exceptions import DestinationUndefinedEntity
from dlt.common.libs.pyiceberg import ensure_iceberg_compatible_arrow_schema
from dlt.common.schema.utils import get_columns_names_with_prop
from dlt.destinations.impl.filesystem.factory import filesystem
from dlt.destinations.impl.filesystem.filesystem import (
    FilesystemClient,
    IcebergLoadFilesystemJob,
    ReferenceFollowupJob,
)
from pyiceberg.expressions import (
    AlwaysTrue,
    And,
    BooleanExpression,
    GreaterThanOrEqual,
    LessThanOrEqual,
)
from pyiceberg.table import Table

if not dlt.__version__.startswith("1.31."):  # the job API below is dlt's internal one
    raise ImportError(
        f"ingestion.destination was written against dlt 1.31.*, found {dlt.__version__}: "
        "check IcebergLoadFilesystemJob.run and FilesystemClient.get_reference_followup_job_class, then update"
    )

LOAD_ID_PROPERTY = "dlt.load-id"
JOB_ID_PROPERTY = "dlt.job-id"
# Rows per piece read from a load job's files (~100 MB of Arrow for the widest raw table).
PIECE_ROWS = 1_000_000


def committed_jobs(table: Table) -> set[tuple[str, str]]:
    """``(load id, job id)`` of every append this destination committed to ``table``."""
    jobs = set()
    for snapshot in table.snapshots():
        summary = snapshot.summary
        if summary is not None and summary[LOAD_ID_PROPERTY] and summary[JOB_ID_PROPERTY]:
            jobs.add((summary[LOAD_ID_PROPERTY], summary[JOB_ID_PROPERTY]))
    return jobs


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


def pieces(dataset: ds.Dataset, rows: int = PIECE_ROWS) -> Iterator[pa.Table]:
    """The dataset as Iceberg-compatible tables of ``rows`` to ``2 * rows`` rows, read lazily."""
    schema = ensure_iceberg_compatible_arrow_schema(dataset.schema)
    pending: list[pa.RecordBatch] = []
    for batch in dataset.to_batches(batch_size=rows, batch_readahead=0, fragment_readahead=0):
        pending.append(batch)
        if sum(b.num_rows for b in pending) >= rows:
            yield pa.Table.from_batches(pending).cast(schema)
            pending = []
    if pending:
        yield pa.Table.from_batches(pending).cast(schema)


def merge_on_keys(table: Table, data: Iterator[pa.Table], keys: list[str]) -> None:
    """Upsert ``data`` into ``table`` on ``keys`` in one commit: append new keys, upsert known."""
    incoming: list[pa.Table] = []  # key columns of every piece, to catch a key repeated
    redelivered: list[pa.Table] = []

    def rows(piece: pa.Table, known: pa.Table, join_type: str) -> pa.Table:
        # a join drops the schema's not-null flags, which Iceberg's required columns need back
        joined = piece.join(known, keys, join_type=join_type)
        return joined.select(piece.column_names).cast(piece.schema)

    with table.transaction() as tx:
        for piece in data:
            incoming.append(piece.select(keys))
            existing = table.scan(
                row_filter=key_range_filter(piece, keys), selected_fields=tuple(keys)
            )
            known = existing.to_arrow().cast(incoming[-1].schema)
            if known.num_rows and (again := rows(piece, known, "left semi")).num_rows:
                redelivered.append(again)
                piece = rows(piece, known, "left anti")
            if piece.num_rows:
                tx.append(piece)
        # Checked before the commit (leaving the block): a failure here commits nothing.
        all_keys = pa.concat_tables(incoming) if incoming else None
        if all_keys and all_keys.group_by(keys).aggregate([]).num_rows != all_keys.num_rows:
            raise ValueError(
                f"{table.name()}: the incoming rows repeat a primary key {keys}; a merge needs one "
                "row per key in a load (deduplicate the source's rows first)"
            )
        if redelivered:
            tx.upsert(pa.concat_tables(redelivered), join_cols=keys)


class IdempotentIcebergLoadJob(IcebergLoadFilesystemJob):
    """An Iceberg append committed at most once per ``(load id, job id)``; a merge in one commit."""

    def run(self) -> None:
        disposition = self._load_table["write_disposition"]
        fast_merge = (
            disposition == "merge"
            and self._load_table.get("x-merge-strategy") == "upsert"
            and "parent" not in self._load_table
        )
        if disposition != "append" and not fast_merge:
            super().run()
            return
        try:
            table = self._job_client.load_open_table(  # evolves the schema, as dlt's job does
                "iceberg", self.load_table_name, schema=self.arrow_dataset.schema
            )
        except DestinationUndefinedEntity:
            super().run()  # creates the table, then calls self.run() again
            return
        if fast_merge:
            keys = get_columns_names_with_prop(self._load_table, "primary_key")
            merge_on_keys(table, pieces(self.arrow_dataset), keys)
            return
        marker = (self._load_id, self.job_id())
        if marker in committed_jobs(table):
            logger.warning(
                f"{table.name()}: job {marker[1]} of load {marker[0]} was committed before the "
                "process stopped; not appending it again"
            )
            return
        properties = {LOAD_ID_PROPERTY: marker[0], JOB_ID_PROPERTY: marker[1]}
        self.commit_append(table, pieces(self.arrow_dataset), properties)

    def commit_append(
        self, table: Table, data: Iterator[pa.Table], properties: dict[str, str]
    ) -> None:
        """One Iceberg commit: the rows and the job's marker (a seam for the kill -9 test).

        A snapshot per piece (each with the marker), all committed to the catalog at once.
        """
        with table.transaction() as tx:
            for piece in data:
                tx.append(piece, snapshot_properties=properties)


class IdempotentFilesystemClient(FilesystemClient):
    @staticmethod
    def get_reference_followup_job_class(
        table: PreparedTableSchema,
    ) -> type[ReferenceFollowupJob] | None:
        job_class = FilesystemClient.get_reference_followup_job_class(table)
        return IdempotentIcebergLoadJob if job_class is IcebergLoadFilesystemJob else job_class


class idempotent_filesystem(filesystem):
    """``dlt.destinations.filesystem`` whose Iceberg appends are idempotent per load job."""

    # dlt reads the factory's arguments (to drop defaults) from the signature of this class.
    __orig_base__ = filesystem

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # The same config sections (destination.filesystem.*) as the stock destination.
        kwargs.setdefault("destination_name", "filesystem")
        super().__init__(*args, **kwargs)

    @property
    def client_class(self) -> type[FilesystemClient]:
        if self.is_hf:
            return super().client_class
        return IdempotentFilesystemClient
