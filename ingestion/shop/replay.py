"""Replay increments recorded as Parquet instead of generating them.

``bench/generate.py`` records each table's increment once, as ``<root>/<table>/<date>.parquet``;
the source then reads those files, so a benchmark times loading, not generating, and every
contender (the pipeline and the bare-DuckDB floor) reads exactly the same data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.shop.generator import SCHEMAS


@dataclass(frozen=True)
class ParquetReplay:
    root: Path

    def path(self, table: str, business_date: date) -> Path:
        return Path(self.root) / table / f"{business_date.isoformat()}.parquet"

    def batches(self, table: str, business_date: date, batch_size: int) -> Iterator[pa.Table]:
        path = self.path(table, business_date)
        if not path.exists():
            raise FileNotFoundError(
                f"no recorded increment at {path}: record it with `python -m bench.generate`"
            )
        for batch in pq.ParquetFile(path).iter_batches(batch_size=batch_size):
            yield pa.Table.from_batches([batch]).cast(SCHEMAS[table])
