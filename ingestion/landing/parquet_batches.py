"""Parquet files in batches (``ParquetFile.iter_batches``), under the schema-drift policy.

A required column missing, or a declared column whose values do not cast safely to the declared
type, is schema drift: every row of the file is quarantined with the same reason. Whether values
cast is checked over the whole file (reading only the columns whose type differs) before any
row is handed over. Columns that cast safely (e.g. int32 into int64) are widened; columns the
contract does not declare keep their own type. A row's line is its row number in the file.
"""

from __future__ import annotations

from collections.abc import Iterator

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.landing import settings
from ingestion.landing.helpers import (
    Batch,
    LandedFile,
    Rejection,
    TableContract,
    column_names_problem,
    rejected_record,
)
from ingestion.landing.validation import BatchValidator, preview


def parquet_batches(
    fs: fsspec.AbstractFileSystem, landed: LandedFile, contract: TableContract
) -> Iterator[Batch]:
    url = landed.url
    with fs.open(landed.path, "rb") as handle:
        try:
            parquet = pq.ParquetFile(handle)
        except (pa.ArrowException, OSError) as exc:
            reason = f"not a readable Parquet file (truncated?): {exc}"
            yield Batch(rejections=[Rejection(url, None, reason)])
            return
        drift = _drift(parquet, contract)
        if drift:
            yield from _drifted(url, parquet, drift)
            return
        validator = BatchValidator(url, contract)
        row = 1
        for batch in parquet.iter_batches(batch_size=settings.BATCH_ROWS):
            yield validator.arrow_batch(row, _widened(batch, contract))
            row += batch.num_rows


def _drift(parquet: pq.ParquetFile, contract: TableContract) -> str | None:
    schema = parquet.schema_arrow
    missing = [name for name in contract.required if name not in schema.names]
    differs = [
        f for f in contract.schema if f.name in schema.names and schema.field(f.name).type != f.type
    ]
    unsafe = _unsafe_casts(parquet, differs)
    problems = []
    if names := column_names_problem(schema.names):
        problems.append(names)
    if missing:
        problems.append(f"required column(s) {', '.join(missing)} missing")
    if unsafe:
        changed = [f"{f.name} is {schema.field(f.name).type}, declared {f.type}" for f in unsafe]
        problems.append(f"type changed: {'; '.join(changed)}")
    if not problems:
        return None
    return (
        f"schema drift: {'; '.join(problems)}; the whole file is quarantined. Fix the export "
        "(or the contract) and land the file again"
    )


def _unsafe_casts(parquet: pq.ParquetFile, declared: list[pa.Field]) -> list[pa.Field]:
    """The declared fields whose column in the file has a value that does not cast safely."""
    unsafe: list[pa.Field] = []
    if not declared:
        return unsafe
    names = [f.name for f in declared]
    for batch in parquet.iter_batches(batch_size=settings.BATCH_ROWS, columns=names):
        for field in declared:
            if field not in unsafe and not _casts(batch.column(field.name), field.type):
                unsafe.append(field)
        if len(unsafe) == len(declared):
            break
    return unsafe


def _casts(column: pa.Array, target: pa.DataType) -> bool:
    try:
        column.cast(target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


def _drifted(url: str, parquet: pq.ParquetFile, reason: str) -> Iterator[Batch]:
    row = 1
    for batch in parquet.iter_batches(batch_size=settings.BATCH_ROWS):
        rejections = [
            rejected_record(url, row + i, reason, preview(values))
            for i, values in enumerate(batch.to_pylist())
        ]
        row += batch.num_rows
        yield Batch(rejections=rejections)
    if row == 1:  # no rows: the file itself is the record
        yield Batch(rejections=[Rejection(url, None, reason)])


def _widened(batch: pa.RecordBatch, contract: TableContract) -> pa.RecordBatch:
    declared = {f.name: f.type for f in contract.schema}
    columns = [
        column.cast(declared[name]) if name in declared else column
        for name, column in zip(batch.schema.names, batch.columns, strict=True)
    ]
    return pa.RecordBatch.from_arrays(columns, names=batch.schema.names)
