"""Generate the shop's increments once, as Parquet, so every contender reads the same data.

Layout: ``<out>/<table>/<business_date>.parquet``, the layout ``ingestion.shop.replay`` reads.
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from ingestion.shop.generator import SCHEMAS, TABLES, ShopSimulator
from ingestion.shop.settings import START_DATE


def business_dates(days: int) -> list[date]:
    return [START_DATE + timedelta(days=n) for n in range(days)]


def generate(out: Path, scale_factor: float, days: int, seed: int = 42) -> dict[str, int]:
    simulator = ShopSimulator(seed=seed, scale_factor=scale_factor, start_date=START_DATE)
    rows = dict.fromkeys(TABLES, 0)
    for day in business_dates(days):
        for table in TABLES:
            path = out / table / f"{day.isoformat()}.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            with pq.ParquetWriter(path, SCHEMAS[table]) as writer:
                for batch in simulator.increment(table, day):
                    writer.write_table(batch)
                    rows[table] += batch.num_rows
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--scale-factor", type=float, required=True)
    parser.add_argument("--days", type=int, required=True)
    args = parser.parse_args()
    rows = generate(args.out, args.scale_factor, args.days)
    print(", ".join(f"{t}={n:,}" for t, n in rows.items()))


if __name__ == "__main__":
    main()
