"""One concurrent writer (``python -m tests.integration.iceberg_append WRITER N START_AT``).

Waits until the wall-clock instant START_AT so both writers start together, then appends N
one-row batches ``(writer, seq)`` to ``raw.contended`` through ``commit_with_retry`` and prints
how many retries it needed. Settings come from the environment.
"""

from __future__ import annotations

import sys
import time

import pyarrow as pa

from lakehouse.catalog import get_catalog
from tests.integration.commits import commit_with_retry

TABLE = "raw.contended"
SCHEMA = pa.schema([pa.field("writer", pa.int64()), pa.field("seq", pa.int64())])


def main(argv: list[str]) -> None:
    writer, n, start_at = int(argv[0]), int(argv[1]), float(argv[2])
    catalog = get_catalog()
    time.sleep(max(0.0, start_at - time.time()))
    retries = 0
    for seq in range(n):
        batch = pa.Table.from_pylist([{"writer": writer, "seq": seq}], schema=SCHEMA)
        _, tries = commit_with_retry(catalog, TABLE, lambda t, b=batch: t.append(b))
        retries += tries
    print(f"retries={retries}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
