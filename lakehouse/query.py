"""``make query SQL="..."``: one SQL query on the embedded engine, printed as a table.

The connection is :func:`lakehouse.engine.connect`'s: the raw Iceberg tables as views
``raw.<table>`` at the catalog's current snapshot, plus the bronze/silver/gold tables dbt built
in the DuckDB file. The embedded default only; on the cluster, query Trino.
"""

from __future__ import annotations

import argparse
import sys

import duckdb

from lakehouse.catalog import get_catalog
from lakehouse.engine import connect
from lakehouse.settings import Profile, Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sql", help="the query, e.g. 'select * from raw.quarantine'")
    parser.add_argument("--max-rows", type=int, default=40, help="rows to print (default 40)")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    if settings.profile is not Profile.LOCAL:
        print("make query reads the embedded default; on the cluster query Trino", file=sys.stderr)
        return 2
    conn = connect(settings.duckdb_path, get_catalog(settings))
    try:
        result = conn.sql(args.sql)
        if result is not None:  # a statement without rows prints nothing
            result.show(max_rows=args.max_rows, max_width=10_000, max_col_width=240)
    except duckdb.Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
