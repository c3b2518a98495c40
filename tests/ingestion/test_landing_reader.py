"""The landing reader on its own (no dlt, no catalog): batches, formats, conversions, keys."""

from __future__ import annotations

import gzip
import io
import json
import random
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import zstandard

from ingestion.landing import settings
from ingestion.landing.conversion import ConversionError, cast_strings, convert
from ingestion.landing.helpers import Rejection, TableContract, kind_of, list_files
from ingestion.landing.keys import SeenKeys
from ingestion.landing.naming import file_stem
from ingestion.landing.reader import read_file

DAY = "2024-01-02"
TS = "2024-01-02T10:00:00+00:00"
ORDERS = TableContract(
    schema=pa.schema(
        [
            pa.field("order_id", pa.int64(), nullable=False),
            pa.field("amount", pa.decimal128(12, 2)),
            pa.field("status", pa.string()),
            pa.field("ordered_at", pa.timestamp("us", tz="UTC"), nullable=False),
        ]
    ),
    primary_key=("order_id",),
)
HEADER = "order_id,amount,status,ordered_at\n"


def row(n: int, status: str = "paid") -> str:
    return f"{n},1.50,{status},{TS}\n"


def read(tmp_path: Path, name: str, content: bytes, contract: TableContract = ORDERS):
    """(good rows, rejections, number of batches) of one landed file."""
    folder = tmp_path / "src" / DAY
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(content)
    (landed,) = [f for f in list_files(str(tmp_path), "src", DAY, None) if f.path.endswith(name)]
    batches = list(read_file(landed, contract))
    tables = [b.rows for b in batches if b.rows is not None and b.rows.num_rows]
    rows = pa.concat_tables(tables).to_pylist() if tables else []
    return rows, [r for b in batches for r in b.rejections], len(batches)


def test_a_file_is_read_a_batch_at_a_time(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(settings, "BATCH_ROWS", 10)
    body = [row(n) for n in range(1, 26)]
    body[14] = f"15,abc,paid,{TS}\n"
    rows, rejections, batches = read(tmp_path, "orders.csv", (HEADER + "".join(body)).encode())
    assert batches == 3
    assert [r["order_id"] for r in rows] == [n for n in range(1, 26) if n != 15]
    assert [r["_source_line"] for r in rows] == [n + 1 for n in range(1, 26) if n != 15]
    assert [(r.line, r.record) for r in rejections] == [(16, f"15,abc,paid,{TS}")]


def test_keys_repeat_across_batches(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(settings, "BATCH_ROWS", 4)
    ids = [1, 2, 3, 2, 5, 6, 1, 8, 8, 9]
    body = "".join(row(n) for n in ids)
    rows, rejections, _ = read(tmp_path, "orders.csv", (HEADER + body).encode())
    assert [r["order_id"] for r in rows] == [1, 2, 3, 5, 6, 8, 9]
    assert [(r.line, r.reason) for r in rejections] == [
        (5, "duplicate key order_id=2: first seen on line 3 of this file"),
        (8, "duplicate key order_id=1: first seen on line 2 of this file"),
        (10, "duplicate key order_id=8: first seen on line 9 of this file"),
    ]


@pytest.mark.parametrize("key_type", [pa.int64(), pa.string()])
def test_seen_keys_find_every_repeat(key_type: pa.DataType) -> None:
    """Sorted numpy runs (integer keys) and the dict (other keys) against a plain set."""
    contract = TableContract(pa.schema([pa.field("k", key_type)]), primary_key=("k",))
    seen, plain, rng, line = SeenKeys(contract), {}, random.Random(5), 1
    for _ in range(60):
        keys = [rng.randrange(400) for _ in range(rng.randrange(1, 30))]
        lines = list(range(line, line + len(keys)))
        line += len(keys)
        errors: dict[int, str] = {0: "already bad"} if rng.random() < 0.3 else {}
        expected = {}
        for i, key in enumerate(keys):
            if i in errors:
                continue
            first = plain.setdefault(key, lines[i])
            if first != lines[i]:
                expected[i] = f"first seen on line {first} "
        column = pa.array(keys if key_type == pa.int64() else [str(k) for k in keys], key_type)
        seen.check({"k": column}, lines, errors)
        repeats = {i: reason for i, reason in errors.items() if reason != "already bad"}
        assert repeats.keys() == expected.keys()
        assert all(expected[i] in repeats[i] for i in expected)


@pytest.mark.parametrize(
    ("target", "values"),
    [
        (pa.int64(), ["12", "-3", "007", "+5", " 5", "0x10", "1e3", "9223372036854775808", "٣"]),
        (pa.int8(), ["127", "128", "-129"]),
        (pa.uint16(), ["65535", "-1"]),
        (pa.float64(), ["1.5", "1e3", ".5", "5.", "inf", "nan", "1_0", " 2"]),
        (pa.decimal128(12, 2), ["1.2", "1.20", "1.200", "1e2", "+1.5", ".5", "5.", "NaN"]),
        (pa.decimal128(12, 2), ["9999999999.99", "99999999999.99", "0001.50"]),
        (pa.decimal128(5, 0), ["12345", "123456", "1.", "1.0"]),
        (pa.bool_(), ["true", "TRUE", "1", "0", "False", "yes", "t", " true"]),
        (pa.date32(), ["2024-01-02", "2024-02-30", "2024-1-2", "20240102", "0000-01-01"]),
        (
            pa.timestamp("us", tz="UTC"),
            [
                "2024-01-02T10:00:00+00:00",
                "2024-01-02T10:00:00Z",
                "2024-01-02 10:00:00.5+02:00",
                "2024-01-02T10:00Z",
                "2024-01-02T10:00:00+0100",
                "2024-01-02T24:00:00Z",
                "2024-01-02T10:00:00",
                "2024-01-02",
                "2024-01-02T10:00:00.1234567Z",
                "0000-01-01T00:00:00Z",
            ],
        ),
        (pa.timestamp("us", tz="Europe/Paris"), ["2024-07-01T10:00:00", "2024-07-01T10:00:00Z"]),
        (pa.timestamp("us"), ["2024-01-02T10:00:00", "2024-01-02 10:00", "2024-01-02T10:00:00Z"]),
    ],
)
def test_the_vectorized_cast_agrees_with_the_value_rules(target, values) -> None:
    """Alone and all together, a column cast by pyarrow holds what ``convert`` makes of each
    value; a column with any value ``convert`` rejects is not cast (it goes value by value)."""
    for column in [[v] for v in values] + [values]:
        expected = []
        for value in column:
            try:
                expected.append(pa.scalar(convert("c", value, target), target))
            except (ConversionError, pa.ArrowException, OverflowError):
                expected.append(None)
        cast = cast_strings(pa.array(column, pa.string()), target)
        if column == values[:1]:  # each list starts with a plain valid value: the fast path
            assert cast is not None, column
        if None in expected:
            assert cast is None, (column, cast)
        elif cast is not None:
            assert cast.to_pylist() == [e.as_py() for e in expected], column


def test_csv_keeps_multi_line_values_and_odd_line_breaks(tmp_path: Path) -> None:
    content = (
        '\ufefforder_id,"amount",status,ordered_at\r\n'  # a BOM and a quoted header name
        f'1,1.50,"two\nlines",{TS}\r\n'
        f"2,1.50,cr only,{TS}\r"
        f'3,1.50,"say ""hi"", then go",{TS}\n'
        f"4,1.50,sep\u2028arated,{TS}\n"
    ).encode()
    rows, rejections, _ = read(tmp_path, "orders.csv", content)
    assert rejections == []
    assert [(r["status"], r["_source_line"]) for r in rows] == [
        ("two\nlines", 2),
        ("cr only", 4),
        ('say "hi", then go', 5),
        ("sep\u2028arated", 6),
    ]


def test_a_runaway_quote_is_cut_short(tmp_path: Path, monkeypatch) -> None:
    """A quote that never closes stops at MAX_RECORD_CHARS: one line lost, memory bounded."""
    monkeypatch.setattr(settings, "MAX_RECORD_CHARS", 500)
    body = [row(n) for n in range(1, 60)]
    body[2] = f'3,1.50,"paid,{TS}\n'
    rows, rejections, _ = read(tmp_path, "orders.csv", (HEADER + "".join(body)).encode())
    assert len(rows) == 58
    (bad,) = rejections
    assert (bad.line, bad.record) == (4, body[2].rstrip("\n"))
    assert "runs past 500 characters" in bad.reason


def test_a_long_bad_record_is_cut_in_the_quarantine_and_says_so(tmp_path: Path) -> None:
    content = HEADER + f"1,1.50,{'x' * 70_000},{TS}\n"
    _, (bad,), _ = read(tmp_path, "orders.csv", content.encode())
    assert "over the 65,536 limit" in bad.reason
    assert "record cut to its first 1,000 of 70," in bad.reason
    assert len(bad.record) == 1_000


def test_json_lines(tmp_path: Path) -> None:
    lines = [
        json.dumps({"order_id": 1, "ordered_at": TS, "status": "para\u2028graph"}),
        json.dumps({"order_id": 2, "ordered_at": TS, "status": "nul\u0000"}),
        '{"order_id": 3, "ordered_at": "' + TS + '", "status": "Z\\u00fcrich"}',
    ]
    content = ("\r\n".join(lines) + "\r\n").encode()
    content += b'{"order_id": 4, "ordered_at": "' + TS.encode() + b'", "status": "Z\xfcrich"}\n'
    complete = json.dumps({"order_id": 5, "ordered_at": TS})  # no final newline: fine
    rows, rejections, _ = read(tmp_path, "orders.jsonl", content + complete.encode())
    assert [(r["order_id"], r["status"], r["_source_line"]) for r in rows] == [
        (1, "para\u2028graph", 1),
        (3, "Zürich", 3),
        (5, None, 5),
    ]
    assert [r.line for r in rejections] == [2, 4]
    assert "control character U+0000" in rejections[0].reason
    assert "not valid utf-8" in rejections[1].reason
    assert (
        rejections[1].record
        == '{"order_id": 4, "ordered_at": "' + TS + '", "status": "Z\\xfcrich"}'
    )

    cut = lines[0] + "\n" + lines[2][:-9]  # cut inside the last object
    rows, (bad,), _ = read(tmp_path, "orders-cut.jsonl", cut.encode())
    assert [r["order_id"] for r in rows] == [1]
    assert (bad.line, bad.record) == (2, lines[2][:-9]) and "invalid JSON" in bad.reason


def test_parquet_streams_and_checks_drift_over_the_whole_file(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(settings, "BATCH_ROWS", 3)
    stamps = pa.array([datetime(2024, 1, 2, tzinfo=UTC)] * 7, pa.timestamp("us", tz="UTC"))
    good = pa.table({"order_id": pa.array(range(1, 8), pa.int32()), "ordered_at": stamps})
    sink = io.BytesIO()
    pq.write_table(good, sink, row_group_size=2)
    rows, rejections, batches = read(tmp_path, "orders.parquet", sink.getvalue())
    assert batches == 3 and rejections == []
    assert [(r["order_id"], r["_source_line"]) for r in rows] == [(n, n) for n in range(1, 8)]

    # a string key that casts for six rows, not for the last: the whole file is drift
    keys = pa.array([*map(str, range(1, 7)), "A-7"])
    sink = io.BytesIO()
    pq.write_table(good.set_column(0, "order_id", keys), sink, row_group_size=2)
    rows, rejections, _ = read(tmp_path, "orders-drift.parquet", sink.getvalue())
    assert rows == [] and [r.line for r in rejections] == list(range(1, 8))
    assert "type changed: order_id is string, declared int64" in rejections[0].reason


def test_cut_off_compressed_files_stop_where_the_damage_is(tmp_path: Path) -> None:
    body = (HEADER + "".join(row(n) for n in range(1, 200_001))).encode()
    packed = gzip.compress(body)
    rows, rejections, _ = read(tmp_path, "orders.csv.gz", packed[: len(packed) // 2])
    assert 0 < len(rows) < 200_000
    (bad,) = [r for r in rejections if "cut off or damaged" in r.reason]
    assert bad.line > len(rows) and "gzip" in bad.reason

    # python-zstandard's own reader hides a cut at a frame's end; this one does not
    frames = zstandard.ZstdCompressor().compress(
        HEADER.encode() + b"".join(row(n).encode() for n in range(1, 4))
    )
    rows, (bad,), _ = read(tmp_path, "orders.csv.zst", frames[:-4])
    assert "cut off or damaged" in bad.reason


@pytest.mark.parametrize(
    ("name", "table", "kind"),
    [
        ("orders.csv", "orders", ("csv", None)),
        ("orders-2024.01.csv.gz", "orders", ("csv", "gzip")),
        ("order_items-part1.JSONL.zst", "order_items", ("jsonl", "zstd")),
        ("orders.parquet", "orders", ("parquet", None)),
        ("orders.parquet.gz", "orders", (None, "gzip")),
        ("orders.xlsx", "orders", (None, None)),
        ("orders", "orders", (None, None)),
    ],
)
def test_file_names(name: str, table: str, kind: tuple) -> None:
    assert (file_stem(name), kind_of(name)) == (table, kind)


def test_unsupported_and_empty_files_are_rejected_whole(tmp_path: Path) -> None:
    for name, content, reason in [
        ("orders.parquet.gz", b"x", "unsupported file type '.parquet.gz'"),
        ("orders-empty.csv", b"\n\n", "empty file"),
        ("orders-empty.jsonl", b"", "empty file"),
        ("orders-empty.csv.gz", gzip.compress(b""), "empty file"),
    ]:
        rows, rejections, _ = read(tmp_path, name, content)
        assert rows == [] and len(rejections) == 1, name
        assert isinstance(rejections[0], Rejection) and rejections[0].line is None
        assert rejections[0].reason.startswith(reason), rejections[0].reason


def test_a_line_with_no_end_is_skipped_not_held(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(settings, "MAX_RECORD_CHARS", 500)
    content = HEADER + row(1) + "x" * 5_000 + "\n" + row(3) + "y" * 2_000
    rows, rejections, _ = read(tmp_path, "orders.csv", content.encode())
    assert [(r["order_id"], r["_source_line"]) for r in rows] == [(1, 2), (3, 4)]
    assert [(r.line, len(r.record)) for r in rejections] == [(3, 501), (5, 501)]
    assert all("a line runs past 500 characters" in r.reason for r in rejections)
