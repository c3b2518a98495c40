"""`make bench_landing`: one large CSV through the landing source, measured (rows, time, memory).

Generates a CSV of ``--rows`` orders (2M rows is ~63 MB), then, each in a fresh interpreter
sampled by ``measure.py``: (1) the reader alone (``read_file`` over the file, rows counted and
dropped) and (2) the whole landing run, dlt into Iceberg on the embedded catalog. Reports rows
landed, quarantined, wall time and peak RSS. The target (issue 11: every row, peak under 500 MB)
is reported, never asserted.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from pathlib import Path

import pyarrow as pa

from bench.measure import run_measured
from ingestion.landing import TableContract, landing, last_run_report
from ingestion.landing.helpers import list_files
from ingestion.landing.reader import read_file
from ingestion.pipeline import make_pipeline
from lakehouse.catalog import get_catalog, table_identifier
from lakehouse.inventory import table_row_count
from lakehouse.layers import Layer

SOURCE = "bench"
DAY = "2024-01-02"
CONTRACTS = {
    "orders": TableContract(
        schema=pa.schema(
            [
                pa.field("order_id", pa.int64(), nullable=False),
                pa.field("customer_id", pa.int64(), nullable=False),
                pa.field("amount", pa.decimal128(12, 2)),
                pa.field("status", pa.string()),
                pa.field("quantity", pa.int32()),
            ]
        ),
        primary_key=("order_id",),
    )
}
STATUSES = ("paid", "placed", "shipped", "returned")
CHANNELS = ("web", "app", "store")  # a column the contract does not declare: raw evolves
TARGET_PEAK_MB = 500


def generate_csv(path: Path, rows: int, seed: int = 11) -> int:
    """A clean orders CSV; returns its size in bytes."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as out:
        out.write("order_id,customer_id,amount,status,quantity,channel\n")
        for start in range(1, rows + 1, 100_000):
            out.writelines(
                f"{n},{rng.randrange(1, 100_000)},{rng.randrange(1, 100_000) / 100:.2f},"
                f"{rng.choice(STATUSES)},{rng.randrange(1, 10)},{rng.choice(CHANNELS)}\n"
                for n in range(start, min(start + 100_000, rows + 1))
            )
    return path.stat().st_size


def read_only(root: Path, report: Path) -> None:
    """The reader alone: every batch read, validated and dropped."""
    rows = quarantined = 0
    for landed in list_files(str(root), SOURCE, DAY, None):
        for batch in read_file(landed, CONTRACTS[landed.table]):
            rows += batch.rows.num_rows if batch.rows is not None else 0
            quarantined += len(batch.rejections)
    report.write_text(json.dumps({"rows_loaded": rows, "rows_quarantined": quarantined}))


def land(root: Path, report: Path) -> None:
    """The whole landing run into Iceberg (settings from the environment: the embedded default)."""
    pipeline = make_pipeline(name=f"landing_{SOURCE}")
    pipeline.run(landing(str(root), SOURCE, CONTRACTS, ingest_date=DAY))
    # Rows the Iceberg table holds, counted by the catalog, next to what the source reported.
    table = get_catalog().load_table(table_identifier(Layer.RAW, f"{SOURCE}_orders"))
    counts = {**last_run_report(pipeline, SOURCE), "rows_in_table": table_row_count(table)}
    report.write_text(json.dumps(counts, default=str))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", nargs="?", choices=("read", "land"), help=argparse.SUPPRESS)
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step == "read":
        return read_only(args.root, args.report)
    if args.step == "land":
        return land(args.root, args.report)

    work = Path(tempfile.mkdtemp(prefix="lakehouse-bench-landing-"))
    try:
        csv = work / "landing" / SOURCE / DAY / "orders.csv"
        size = generate_csv(csv, args.rows)
        print(f"generated {args.rows:,} rows, {size / 2**20:.1f} MB: {csv}", flush=True)
        print(
            "| step | rows loaded | rows in the Iceberg table | quarantined | time | peak RSS |\n"
            "|---|---|---|---|---|---|"
        )
        env = {"LAKEHOUSE_PROFILE": "local", "LAKEHOUSE_DATA_DIR": str(work / "data")}
        for step, label in (("read", "reader alone"), ("land", "landing run into Iceberg")):
            report = work / f"{step}.json"
            argv = ["-m", "bench.landing", step, "--root", str(work / "landing")]
            measured = run_measured([*argv, "--report", str(report)], env=env, label=label)
            counts = json.loads(report.read_text())
            in_table = f"{counts['rows_in_table']:,}" if "rows_in_table" in counts else "-"
            print(
                f"| {label} | {counts.get('rows_loaded', 0):,} | {in_table} "
                f"| {counts.get('rows_quarantined', 0):,} "
                f"| {measured.seconds:.1f} s | {measured.peak_rss_mb:,.0f} MB |",
                flush=True,
            )
        print(f"target: all {args.rows:,} rows, peak RSS under {TARGET_PEAK_MB} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
