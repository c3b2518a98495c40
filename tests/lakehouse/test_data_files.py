"""Rows streamed into an Iceberg table (lakehouse/data_files.py), on a real SQL catalog."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.expressions import AlwaysTrue, GreaterThanOrEqual
from pyiceberg.table import Table, TableProperties

from lakehouse.data_files import FILE_SIZE_PROPERTY, commit_rows

SCHEMA = pa.schema([("order_id", pa.int64()), ("status", pa.string())])


def batch(first: int, rows: int) -> pa.RecordBatch:
    ids = list(range(first, first + rows))
    return pa.record_batch([ids, [f"s{i % 3}" for i in ids]], schema=SCHEMA)


def table(
    tmp_path: Path, target_bytes: int = 64 * 2**20, group_rows: int = 1_048_576, schema=SCHEMA
) -> Table:
    catalog = SqlCatalog(
        "test", uri=f"sqlite:///{tmp_path}/catalog.db", warehouse=f"file://{tmp_path}/warehouse"
    )
    catalog.create_namespace("silver")
    properties = {
        FILE_SIZE_PROPERTY: str(target_bytes),
        TableProperties.PARQUET_ROW_GROUP_LIMIT: str(group_rows),
    }
    return catalog.create_table("silver.orders", schema=schema, properties=properties)


def data_files(tbl: Table) -> list[Path]:
    return sorted(Path(tbl.location().removeprefix("file://"), "data").glob("*.parquet"))


def test_each_batch_is_written_before_the_next_is_read(tmp_path: Path) -> None:
    """The point of the module: pyiceberg's append drew the whole reader into its thread pool
    first. Here a batch is read only once the ones before it are in closed files."""
    tbl = table(tmp_path, target_bytes=1, group_rows=100)  # every batch closes its file
    files_when_read = []

    def batches():
        for n in range(4):
            files_when_read.append(len(data_files(tbl)))
            yield batch(n * 100, 100)

    commit_rows(tbl, pa.RecordBatchReader.from_batches(SCHEMA, batches()), {"build": "b1"})
    assert files_when_read == [0, 1, 2, 3]
    tbl.refresh()
    assert tbl.scan().to_arrow().num_rows == 400
    assert len(tbl.current_snapshot().manifests(tbl.io)) == 1  # one append of four files


def test_rows_statistics_and_replacement_are_what_overwrite_gives(tmp_path: Path) -> None:
    tbl = table(tmp_path)
    reader = pa.RecordBatchReader.from_batches(SCHEMA, [batch(0, 1000), batch(1000, 1000)])
    commit_rows(tbl, reader, {"build": "b1"})
    tbl.refresh()
    first = tbl.current_snapshot()
    assert first.summary["build"] == "b1" and first.summary["total-records"] == "2000"
    # Files as add_files requires them (no field IDs), read through the name mapping it set.
    assert tbl.name_mapping() is not None
    [only] = data_files(tbl)
    assert b"PARQUET:field_id" not in str(pq.read_schema(only)).encode()
    [entry] = tbl.inspect.files().to_pylist()
    assert entry["record_count"] == 2000 and entry["lower_bounds"] and entry["upper_bounds"]
    # A filter on the key prunes the file by its statistics (no file left to scan)
    assert list(tbl.scan(row_filter=GreaterThanOrEqual("order_id", 5000)).plan_files()) == []

    # Replace the keys from 1500 on: one commit, the old rows below the key kept.
    replaced = pa.RecordBatchReader.from_batches(SCHEMA, [batch(1500, 10)])
    commit_rows(tbl, replaced, {"build": "b2"}, GreaterThanOrEqual("order_id", 1500))
    tbl.refresh()
    ids = sorted(tbl.scan().to_arrow()["order_id"].to_pylist())
    assert ids == list(range(1510))
    builds = [s.summary["build"] for s in tbl.snapshots()]
    assert builds == ["b1", "b2", "b2"]  # the delete and the append of the replacement

    commit_rows(tbl, pa.RecordBatchReader.from_batches(SCHEMA, []), {"build": "b3"}, AlwaysTrue())
    tbl.refresh()
    assert tbl.current_snapshot().summary["build"] == "b3"
    assert tbl.scan().to_arrow().num_rows == 0


def test_files_roll_at_the_tables_target_size(tmp_path: Path) -> None:
    one = batch(0, 10_000)
    tbl = table(tmp_path, target_bytes=2 * one.nbytes, group_rows=10_000)
    reader = pa.RecordBatchReader.from_batches(
        SCHEMA, [batch(n * 10_000, 10_000) for n in range(5)]
    )
    commit_rows(tbl, reader, {})
    assert [pq.read_metadata(f).num_rows for f in data_files(tbl)] == [20_000, 20_000, 10_000]


def test_row_groups_follow_the_tables_limit_not_the_readers_batches(tmp_path: Path) -> None:
    """As pyiceberg's writer (write.parquet.row-group-limit); empty batches add no row group (an
    empty one would leave the file without column statistics)."""
    tbl = table(tmp_path, group_rows=250)
    small = [batch(n * 100, 100) for n in range(10)]
    reader = pa.RecordBatchReader.from_batches(SCHEMA, [batch(0, 0), *small, batch(0, 0)])
    commit_rows(tbl, reader, {})
    [only] = data_files(tbl)
    metadata = pq.read_metadata(only)
    groups = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert groups == [250, 250, 250, 250]
    [entry] = tbl.inspect.files().to_pylist()
    assert entry["lower_bounds"] and entry["upper_bounds"]


def test_a_dictionary_column_is_stored_as_its_values(tmp_path: Path) -> None:
    """DuckDB hands an ENUM column over as an Arrow dictionary; Iceberg types it as a string, and
    a dictionary kept in a file made pyiceberg's scan of the table fail to merge the files."""
    tbl = table(tmp_path, group_rows=2)  # groups gathered from more than one batch, too
    commit_rows(tbl, pa.RecordBatchReader.from_batches(SCHEMA, [batch(0, 3)]), {})
    [first] = data_files(tbl)
    status = pa.array(["s0", "s1", "s0"]).dictionary_encode()
    as_enum = pa.schema([("order_id", pa.int64()), ("status", status.type)])
    enum_batch = pa.record_batch([[3, 4, 5], status], schema=as_enum)
    reader = pa.RecordBatchReader.from_batches(as_enum, [enum_batch, enum_batch])
    commit_rows(tbl, reader, {})
    tbl.refresh()
    [second] = set(data_files(tbl)) - {first}
    assert pq.read_schema(second).field("status").type == pa.string()
    read = tbl.scan().to_arrow().sort_by("order_id")
    assert read["status"].to_pylist() == ["s0", "s1", "s2", "s0", "s0", "s1", "s1", "s0", "s0"]


def test_a_reader_failing_midway_commits_nothing(tmp_path: Path) -> None:
    tbl = table(tmp_path)
    commit_rows(tbl, pa.RecordBatchReader.from_batches(SCHEMA, [batch(0, 10)]), {"build": "b1"})

    def broken():
        yield batch(100, 10)
        raise OSError("the source went away")

    with pytest.raises(OSError, match="went away"):
        commit_rows(tbl, pa.RecordBatchReader.from_batches(SCHEMA, broken()), {}, AlwaysTrue())
    tbl.refresh()
    assert tbl.current_snapshot().summary["build"] == "b1"
    assert tbl.scan().to_arrow()["order_id"].to_pylist() == list(range(10))
