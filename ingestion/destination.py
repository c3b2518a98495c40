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
few million rows). Here a merge is one commit: the keys already in the table are read once
(pruned by the incoming rows' key ranges, key columns only); incoming rows with new keys are
appended and rows with known keys are upserted (the rare re-delivery), in one transaction. A
merge repeated is harmless, so it needs no marker. ``replace`` jobs are dlt's own.
The check reads the snapshot history kept in table metadata: expiring the snapshot of a load
before that load completed would reopen the window, so expire snapshots older than a few hours
only (a pending package is finished by the next run).
"""

from __future__ import annotations

from typing import Any

import dlt
import pyarrow as pa
import pyarrow.compute as pc
from dlt.common import logger
from dlt.common.destination.client import PreparedTableSchema
from dlt.common.destination.exceptions import DestinationUndefinedEntity
from dlt.common.libs.pyiceberg import ensure_iceberg_compatible_arrow_data
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


def merge_on_keys(table: Table, data: pa.Table, keys: list[str]) -> None:
    """Upsert ``data`` into ``table`` on ``keys`` in one commit: append new keys, upsert known."""
    if data.group_by(keys).aggregate([]).num_rows != data.num_rows:
        raise ValueError(
            f"{table.name()}: the incoming rows repeat a primary key {keys}; a merge needs one row "
            "per key in a load (deduplicate the source's rows first)"
        )
    existing = table.scan(row_filter=key_range_filter(data, keys), selected_fields=tuple(keys))
    known = existing.to_arrow().cast(data.select(keys).schema)

    def rows(join_type: str) -> pa.Table:
        # a join drops the schema's not-null flags, which Iceberg's required columns need back
        joined = data.join(known, keys, join_type=join_type)
        return joined.select(data.column_names).cast(data.schema)

    new = rows("left anti") if known.num_rows else data
    with table.transaction() as tx:
        if known.num_rows:
            redelivered = rows("left semi")
            if redelivered.num_rows:
                tx.upsert(redelivered, join_cols=keys)
        if new.num_rows:
            tx.append(new)


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
            data = ensure_iceberg_compatible_arrow_data(self.arrow_dataset.to_table())
            merge_on_keys(table, data, get_columns_names_with_prop(self._load_table, "primary_key"))
            return
        marker = (self._load_id, self.job_id())
        if marker in committed_jobs(table):
            logger.warning(
                f"{table.name()}: job {marker[1]} of load {marker[0]} was committed before the "
                "process stopped; not appending it again"
            )
            return
        properties = {LOAD_ID_PROPERTY: marker[0], JOB_ID_PROPERTY: marker[1]}
        self.commit_append(table, self.arrow_dataset.to_table(), properties)

    def commit_append(self, table: Table, data: pa.Table, properties: dict[str, str]) -> None:
        """One Iceberg commit: the rows and the job's marker (a seam for the kill -9 test)."""
        table.append(ensure_iceberg_compatible_arrow_data(data), snapshot_properties=properties)


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
