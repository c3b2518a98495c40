"""Informal generation benchmark: rows/s per table and peak RSS for one business date.

    python -m bench.generation --scale-factor 100 --date 2024-01-11

Generation only (no dlt, no destination); prints, asserts nothing.
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import date

from ingestion.shop import settings
from ingestion.shop.generator import TABLES, ShopSimulator


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale-factor", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--date", type=date.fromisoformat, default=date(2024, 1, 11))
    parser.add_argument("--batch-size", type=int, default=settings.DEFAULT_BATCH_SIZE)
    args = parser.parse_args(argv)

    simulator = ShopSimulator(seed=args.seed, scale_factor=args.scale_factor)
    total_rows, started = 0, time.perf_counter()
    for table in TABLES:
        rows, t0 = 0, time.perf_counter()
        for batch in simulator.batches(table, args.date, args.batch_size):
            rows += batch.num_rows
        elapsed = time.perf_counter() - t0
        total_rows += rows
        print(f"{table:<12} {rows:>12,} rows {elapsed:8.2f} s {rows / elapsed:>14,.0f} rows/s")
    elapsed = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(
        f"{'total':<12} {total_rows:>12,} rows {elapsed:8.2f} s "
        f"{total_rows / elapsed:>14,.0f} rows/s   peak RSS {peak_mb:,.0f} MB"
    )


if __name__ == "__main__":
    main()
