"""The Iceberg load job's merge: streamed in pieces, one commit, nothing twice, nothing lost."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from pyiceberg.catalog.sql import SqlCatalog

from ingestion.destination import merge_on_keys, pieces

KEYS = ["id", "version"]
SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("version", pa.int64(), nullable=False),
        pa.field("value", pa.string()),
    ]
)


def _rows(ids: range, version: int, value: str) -> pa.Table:
    n = len(ids)
    return pa.table({"id": list(ids), "version": [version] * n, "value": [value] * n}, SCHEMA)


@pytest.fixture
def table(tmp_path: Path):
    catalog = SqlCatalog(
        "test", uri=f"sqlite:///{tmp_path}/catalog.db", warehouse=f"file://{tmp_path}/warehouse"
    )
    catalog.create_namespace("raw")
    table = catalog.create_table("raw.versions", schema=SCHEMA)
    table.append(_rows(range(0, 10), 1, "old"))  # ids 0-9, version 1
    return table


def _incoming(tmp_path: Path, *parts: pa.Table) -> ds.Dataset:
    """A load job's files: one Parquet file per part."""
    folder = tmp_path / "job"
    folder.mkdir()
    for n, part in enumerate(parts):
        pq.write_table(part, folder / f"{n}.parquet")
    return ds.dataset(folder)


def test_pieces_cover_the_files_once_in_bounded_tables(tmp_path: Path) -> None:
    data = _incoming(tmp_path, _rows(range(0, 25), 1, "a"), _rows(range(25, 40), 1, "b"))
    split = list(pieces(data, rows=10))
    # a piece closes once it holds >= rows; batches never span files (25 = 10 + 10 + 5), so the
    # third piece is 5 + 10 rows
    assert [p.num_rows for p in split] == [10, 10, 15, 5]
    assert sorted(pa.concat_tables(split)["id"].to_pylist()) == list(range(40))


def test_a_merge_streamed_in_pieces_is_one_commit(table, tmp_path: Path) -> None:
    commits_before = len(table.metadata.metadata_log)
    # New versions of ids 5-14 (new keys), ids 20-29 (new ids), and a re-delivery of id 3
    # version 1 with a corrected value (a known key: upserted, not appended twice).
    data = _incoming(
        tmp_path,
        _rows(range(5, 15), 2, "new"),
        _rows(range(20, 30), 1, "new"),
        _rows(range(3, 4), 1, "corrected"),
    )
    merge_on_keys(table, pieces(data, rows=7), KEYS)

    table = table.refresh()
    rows = {(r["id"], r["version"]): r["value"] for r in table.scan().to_arrow().to_pylist()}
    assert len(rows) == table.scan().to_arrow().num_rows == 10 + 10 + 10  # no key twice
    assert rows[(3, 1)] == "corrected" and rows[(4, 1)] == "old"
    assert all(rows[(i, 2)] == "new" for i in range(5, 15))
    assert all(rows[(i, 1)] == "new" for i in range(20, 30))
    # One catalog commit for the whole load (three pieces): one new metadata file.
    assert len(table.metadata.metadata_log) == commits_before + 1


def test_a_key_repeated_across_pieces_fails_and_writes_nothing(table, tmp_path: Path) -> None:
    before = table.metadata_location
    data = _incoming(tmp_path, _rows(range(20, 30), 1, "x"), _rows(range(28, 31), 1, "y"))
    with pytest.raises(ValueError, match="repeat a primary key"):
        merge_on_keys(table, pieces(data, rows=10), KEYS)
    assert table.refresh().metadata_location == before
    assert table.scan().to_arrow().num_rows == 10
