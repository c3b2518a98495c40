"""The landing source: a bad-input suite loaded end to end into Iceberg (embedded catalog).

Every file below injects a known number of bad rows (or is a bad file); the test asserts that the
good rows all arrive, that the quarantine holds exactly the injected bad records with a clear
reason, file and line, that the run reports the counts, and that no file is loaded twice.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.landing import TableContract, landing, last_run_report
from ingestion.pipeline import make_pipeline
from lakehouse.catalog import get_catalog
from lakehouse.settings import Settings

SOURCE = "acme"
DAY = "2024-01-02"
CONTRACTS = {
    "orders": TableContract(
        schema=pa.schema(
            [
                pa.field("order_id", pa.int64(), nullable=False),
                pa.field("customer_id", pa.int64(), nullable=False),
                pa.field("amount", pa.decimal128(12, 2)),
                pa.field("status", pa.string()),
                pa.field("ordered_at", pa.timestamp("us", tz="UTC"), nullable=False),
            ]
        ),
        primary_key=("order_id",),
    )
}
HEADER = "order_id,customer_id,amount,status,ordered_at\n"
TS = "2024-01-02T10:00:00+00:00"


def row(order_id: int, status: str = "paid") -> str:
    return f"{order_id},7,12.50,{status},{TS}\n"


def jrow(order_id, **overrides) -> str:
    record = {"order_id": order_id, "customer_id": 7, "amount": "9.99", "status": "paid"}
    return json.dumps({**record, "ordered_at": TS, **overrides}) + "\n"


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


GOOD_PARQUET = pa.table(
    {
        "order_id": pa.array([40, 41, 42], pa.int64()),
        "customer_id": pa.array([1, 2, 3], pa.int32()),  # safely widened to int64
        "amount": pa.array([Decimal("1.00"), None, Decimal("3.50")], pa.decimal128(12, 2)),
        "status": ["paid", "placed", None],
        "ordered_at": pa.array([1_704_189_600_000_000] * 3, pa.timestamp("us", tz="UTC")),
        "channel": ["web", "store", "web"],  # a new column: raw evolves
    }
)
TYPE_CHANGED = pa.table(
    {"order_id": ["A-50", "A-51"], "customer_id": [1, 2], "ordered_at": [TS, TS]}
)

# file name -> (content, ids of good rows, injected bad records, words the reason must contain)
CASES: dict[str, tuple[bytes, set[int], int, str]] = {
    "orders.csv": ((HEADER + row(1) + row(2) + row(3)).encode(), {1, 2, 3}, 0, ""),
    "orders-empty.csv": (b"", set(), 1, "empty file"),
    "orders-truncated.csv": (
        (HEADER + row(4) + row(5) + "6,7,12.5").encode(),
        {4, 5},
        1,
        "truncated",
    ),
    "orders-latin1.csv": (
        (HEADER + row(7)).encode() + row(8, "Zürich").encode("latin-1"),
        {7},
        1,
        "wrong encoding",
    ),
    "orders-semicolon.csv": (
        (HEADER + row(9)).replace(",", ";").encode(),
        set(),
        1,
        "wrong delimiter",
    ),
    "orders-extra.csv": (
        (
            HEADER.rstrip()
            + ",coupon\n"
            + f"10,7,1.00,paid,{TS},X1\n11,7,2.00,paid,{TS},\n"
            + f"12,7,2.00,paid,{TS},X2,oops\n"
        ).encode(),
        {10, 11},
        1,
        "extra values",
    ),
    "orders-missing-column.csv": (
        (f"order_id,amount,ordered_at\n13,1.00,{TS}\n14,2.00,{TS}\n").encode(),
        set(),
        2,
        "required column(s) customer_id missing",
    ),
    "orders-types.jsonl": (
        (
            jrow(15)
            + jrow(16)
            + jrow(17, amount="abc")
            + jrow("x18")
            + jrow(19, amount="1.234")
            + '{"order_id": 20, "customer_id"\n'
        ).encode(),
        {15, 16},
        4,
        "is not a valid",
    ),
    "orders-keys.jsonl": (
        (jrow(21) + jrow(21, status="shipped") + jrow(None) + jrow(22, customer_id=None)).encode(),
        {21},
        3,
        "key",
    ),
    "orders-huge.jsonl": ((jrow(23) + jrow(24, status="x" * 200_000)).encode(), {23}, 1, "limit"),
    "orders-good.parquet": (parquet_bytes(GOOD_PARQUET), {40, 41, 42}, 0, ""),
    "orders-type-changed.parquet": (parquet_bytes(TYPE_CHANGED), set(), 2, "type changed"),
    "orders-truncated.parquet": (
        parquet_bytes(GOOD_PARQUET)[:200],
        set(),
        1,
        "not a readable Parquet file",
    ),
    "refunds.csv": (b"refund_id\n1\n", set(), 1, "unknown table 'refunds'"),
    "orders.xlsx": (b"PK\x03\x04", set(), 1, "unsupported file type"),
}


def land(root: Path, files: dict[str, bytes], day: str = DAY) -> None:
    folder = root / SOURCE / day
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)


def run(settings: Settings, root: Path, day: str | None = DAY) -> dict:
    pipeline = make_pipeline(settings, name=f"landing_{SOURCE}")
    pipeline.run(landing(str(root), SOURCE, CONTRACTS, ingest_date=day))
    return last_run_report(pipeline, SOURCE)


@pytest.fixture
def landed(lakehouse_env: Settings, tmp_path: Path) -> tuple[Settings, Path, dict]:
    root = tmp_path / "landing"
    land(root, {name: case[0] for name, case in CASES.items()})
    return lakehouse_env, root, run(lakehouse_env, root)


def test_good_rows_load_and_bad_ones_are_quarantined_exactly(landed) -> None:
    settings, _, report = landed
    catalog = get_catalog(settings)
    orders = catalog.load_table("raw.acme_orders").scan().to_arrow()
    expected_ids = set().union(*(case[1] for case in CASES.values()))
    assert sorted(orders["order_id"].to_pylist()) == sorted(expected_ids)
    # Types are the declared ones; new columns evolved into raw.
    assert orders.schema.field("amount").type == pa.decimal128(12, 2)
    assert {"coupon", "channel"} <= set(orders.column_names)
    by_id = {r["order_id"]: r for r in orders.to_pylist()}
    assert by_id[10]["coupon"] == "X1" and by_id[40]["channel"] == "web"
    assert by_id[1]["amount"] == Decimal("12.50")

    quarantine = catalog.load_table("raw.quarantine").scan().to_arrow().to_pylist()
    per_file = Counter(Path(r["file"]).name for r in quarantine)
    expected = {name: case[2] for name, case in CASES.items() if case[2]}
    assert per_file == expected
    for record in quarantine:
        name = Path(record["file"]).name
        assert record["source"] == SOURCE and record["ingest_date"] == DAY
        assert record["reason"], record
        if name in ("orders-types.jsonl", "orders-keys.jsonl"):
            continue  # several kinds of fault in one file: checked below
        assert CASES[name][3] in record["reason"], (name, record["reason"])
    reasons = {(Path(r["file"]).name, r["line"]): r["reason"] for r in quarantine}
    assert (
        "column 'amount': 'abc' is not a valid decimal128(12, 2)"
        in reasons["orders-types.jsonl", 3]
    )
    assert "column 'order_id': 'x18'" in reasons["orders-types.jsonl", 4]
    assert "'1.234'" in reasons["orders-types.jsonl", 5]
    assert "invalid JSON" in reasons["orders-types.jsonl", 6]
    assert "duplicate key order_id=21: first seen on line 1" in reasons["orders-keys.jsonl", 2]
    assert "key column 'order_id' is null" in reasons["orders-keys.jsonl", 3]
    assert "required column 'customer_id' is null" in reasons["orders-keys.jsonl", 4]
    assert reasons["orders-truncated.csv", 4].startswith("expected 5 fields")
    assert reasons["orders-empty.csv", None].startswith("empty file")
    huge = next(r for r in quarantine if Path(r["file"]).name == "orders-huge.jsonl")
    assert len(huge["record"]) <= 1_000  # the quarantine keeps a preview, not the 200 kB

    assert report == {
        "files_processed": len(CASES),
        "rows_loaded": len(expected_ids),
        "rows_quarantined": sum(expected.values()),
        "rows_by_table": {"acme_orders": len(expected_ids)},
    }


def test_processed_files_are_never_loaded_twice(landed) -> None:
    settings, root, _ = landed
    catalog = get_catalog(settings)
    before = {
        name: catalog.load_table(f"raw.{name}").current_snapshot().snapshot_id
        for name in ("acme_orders", "quarantine")
    }
    report = run(settings, root)
    assert report["files_skipped"] == len(CASES) and report["rows_loaded"] == 0
    catalog = get_catalog(settings)
    for name, snapshot in before.items():
        assert catalog.load_table(f"raw.{name}").current_snapshot().snapshot_id == snapshot

    # A new file on another day (all days processed): only it is loaded.
    land(root, {"orders-late.csv": (HEADER + row(60) + row(61)).encode()}, day="2024-01-03")
    report = run(settings, root, day=None)
    assert report["files_processed"] == 1 and report["rows_loaded"] == 2
    assert report["files_skipped"] == len(CASES)
    orders = get_catalog(settings).load_table("raw.acme_orders").scan().to_arrow()
    ids = Counter(orders["order_id"].to_pylist())
    assert ids[60] == ids[61] == 1 and max(ids.values()) == 1


def test_listing_is_sorted_and_reports_fingerprints(tmp_path: Path) -> None:
    from ingestion.landing.helpers import list_files

    land(tmp_path, {"b.csv": b"x", "a-1.jsonl": b"y"}, day=str(date(2024, 1, 5)))
    files = list(list_files(str(tmp_path), SOURCE, None, None))
    assert [(f.table, f.format, f.ingest_date) for f in files] == [
        ("a", "jsonl", "2024-01-05"),
        ("b", "csv", "2024-01-05"),
    ]
    assert all(f.fingerprint.startswith("1:") for f in files)
