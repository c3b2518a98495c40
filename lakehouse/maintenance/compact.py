"""Compaction on pyiceberg: rewrite the partitions that hold too many small data files.

pyiceberg 0.12 has no ``rewrite_data_files`` (apache/iceberg-python#1092), so a partition is
rewritten by an overwrite in one transaction: delete the partition's rows, append them again in
pieces of ``PIECE_ROWS`` rows (files near the target size). The rows come from the snapshot the
rewrite started from; if another writer commits in between, pyiceberg re-validates the delete
against the new snapshot on retry and fails rather than drop rows it did not read
(``tests/lakehouse/test_maintenance.py`` commits a concurrent append and counts the rows).

Partitions are told apart by identity-transform partition values; a table partitioned by another
transform (or unpartitioned) is rewritten whole.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
from pyiceberg.expressions import AlwaysTrue, And, BooleanExpression, EqualTo, IsNull
from pyiceberg.table import Table
from pyiceberg.transforms import IdentityTransform

from lakehouse.maintenance.policy import MaintenancePolicy

PIECE_ROWS = 1_000_000  # rows per appended piece: bounds memory, files stay large
# Snapshot summary property of a compaction's commits: the rows are the same, so whatever keys
# on "did the data change" (the incremental dbt step's inputs) passes over them.
COMPACTION_PROPERTY = "lakehouse.compaction"


@dataclass(frozen=True)
class CompactionResult:
    files_before: int
    files_after: int
    partitions_rewritten: int


def compact(table: Table, policy: MaintenancePolicy) -> CompactionResult:
    """Rewrite each partition with at least ``min_input_files`` small files; one commit."""
    groups = _small_files_by_partition(table, policy)
    files_before = sum(1 for _ in table.scan().plan_files())
    chosen = [where for where, count in groups.items() if count >= policy.min_input_files]
    if not policy.compact or not chosen:
        return CompactionResult(files_before, files_before, 0)
    filters = [_partition_filter(table, where) for where in chosen]
    with table.transaction() as tx:
        for condition in filters:
            reader = table.scan(row_filter=condition).to_arrow_batch_reader()
            tx.delete(condition, snapshot_properties={COMPACTION_PROPERTY: "true"})
            for piece in _pieces(reader):
                tx.append(piece, snapshot_properties={COMPACTION_PROPERTY: "true"})
    files_after = sum(1 for _ in table.scan().plan_files())
    return CompactionResult(files_before, files_after, len(chosen))


def _small_files_by_partition(table: Table, policy: MaintenancePolicy) -> dict[tuple, int]:
    counts: dict[tuple, int] = defaultdict(int)
    for task in table.scan().plan_files():
        if task.file.file_size_in_bytes < policy.small_file_bytes:
            counts[_partition_key(table, task.file.partition)] += 1
    return counts


def _identity_fields(table: Table) -> list[tuple[int, str]] | None:
    """``(position, source column)`` of each partition field; ``None`` unless all are identity."""
    spec = table.spec()
    if not spec.fields or any(not isinstance(f.transform, IdentityTransform) for f in spec.fields):
        return None
    schema = table.schema()
    return [(i, schema.find_column_name(f.source_id)) for i, f in enumerate(spec.fields)]


def _partition_key(table: Table, partition: object) -> tuple:
    fields = _identity_fields(table)
    if fields is None:
        return ()
    return tuple(partition[position] for position, _ in fields)  # type: ignore[index]


def _partition_filter(table: Table, key: tuple) -> BooleanExpression:
    fields = _identity_fields(table)
    condition: BooleanExpression = AlwaysTrue()
    for (_, column), value in zip(fields or [], key, strict=True):
        term = IsNull(column) if value is None else EqualTo(column, value)
        condition = And(condition, term)
    return condition


def _pieces(reader: pa.RecordBatchReader) -> Iterator[pa.Table]:
    pending: list[pa.RecordBatch] = []
    rows = 0
    for batch in reader:
        pending.append(batch)
        rows += batch.num_rows
        if rows >= PIECE_ROWS:
            yield pa.Table.from_batches(pending)
            pending, rows = [], 0
    if pending:
        yield pa.Table.from_batches(pending)
