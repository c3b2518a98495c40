"""``make sql``: a SQL shell on the embedded lakehouse that never blocks a run.

An in-memory DuckDB with one view per Iceberg table, ``raw.*``, ``silver.*`` and ``gold.*``,
read through the catalog (silver/gold at the published build, ``lakehouse.read``'s rule). The
pipeline's DuckDB file is never opened, so a run can write while the shell reads; extensions
come from their wheels (no download). ``--as-of`` (a tag, snapshot id or timestamp) shows every
table at that state; tables without it are left out and named. ``--sql`` runs one statement.
"""

from __future__ import annotations

import argparse
import sys

import duckdb
from pyiceberg.catalog import Catalog

from lakehouse.catalog import get_catalog, layer_tables, table_identifier
from lakehouse.engine import load_extensions
from lakehouse.layers import Layer
from lakehouse.reading import AsOf, ReadError, resolve_snapshot, scan_sql
from lakehouse.settings import Settings

SHOWN_LAYERS = (Layer.RAW, Layer.SILVER, Layer.GOLD)  # bronze is views in the engine, not tables


def open_shell(catalog: Catalog, as_of: AsOf = None) -> tuple[duckdb.DuckDBPyConnection, list[str]]:
    """An in-memory connection with a view per table; also the tables left out, with why."""
    conn = duckdb.connect()
    load_extensions(conn)
    conn.execute("SET TimeZone = 'UTC'")
    skipped = []
    for layer in SHOWN_LAYERS:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {layer.value}")
        for name, table in layer_tables(catalog, layer).items():
            identifier = table_identifier(layer, name)
            try:
                snapshot_id = resolve_snapshot(catalog, table, identifier, as_of)
            except ReadError as exc:
                skipped.append(str(exc))
                continue
            if snapshot_id is None:
                skipped.append(f"{identifier}: no snapshot yet")
                continue
            conn.execute(f'CREATE VIEW {layer.value}."{name}" AS {scan_sql(table, snapshot_id)}')
    return conn, skipped


def run(conn: duckdb.DuckDBPyConnection, statement: str, max_rows: int) -> None:
    result = conn.sql(statement)
    if result is not None:  # a statement without rows prints nothing
        result.show(max_rows=max_rows, max_width=10_000, max_col_width=240)
    sys.stdout.flush()  # a shell on a pipe (another program, a test) gets each answer at once


def shell(conn: duckdb.DuckDBPyConnection, max_rows: int) -> None:
    """Read statements ending in ``;`` until end of input (Ctrl-D) or ``.quit``."""
    print("Lakehouse SQL (DuckDB). Tables: select * from duckdb_views() where not internal;")
    print("End statements with ';'. Ctrl-D or .quit leaves.")
    buffer: list[str] = []
    while True:
        try:
            line = input("lakehouse> " if not buffer else "      ...> ")
        except EOFError:
            print()
            return
        if not buffer and line.strip() in {".quit", ".exit"}:
            return
        buffer.append(line)
        if line.rstrip().endswith(";"):
            try:
                run(conn, "\n".join(buffer), max_rows)
            except duckdb.Error as exc:
                print(f"error: {exc}", file=sys.stderr)
            buffer = []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sql", help="run this one statement and exit (default: a shell)")
    parser.add_argument("--as-of", help="a tag, snapshot id or timestamp to read every table at")
    parser.add_argument("--max-rows", type=int, default=40, help="rows to print (default 40)")
    args = parser.parse_args(argv)
    conn, skipped = open_shell(get_catalog(Settings.from_env()), args.as_of or None)
    for reason in skipped:
        print(f"left out: {reason}", file=sys.stderr)
    try:
        if args.sql is None:
            shell(conn, args.max_rows)
            return 0
        run(conn, args.sql, args.max_rows)
    except duckdb.Error as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
