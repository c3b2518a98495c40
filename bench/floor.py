"""Run the floor (floor.sql) over a recording into a DuckDB file."""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

SQL = Path(__file__).with_name("floor.sql")


def run_floor(recording: Path, database: Path) -> None:
    conn = duckdb.connect(str(database))
    try:
        conn.execute(SQL.read_text().replace("{root}", str(recording)))
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--recording", type=Path, required=True)
    parser.add_argument("--database", type=Path, required=True)
    args = parser.parse_args()
    run_floor(args.recording, args.database)


if __name__ == "__main__":
    main()
