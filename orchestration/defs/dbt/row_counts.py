"""``dagster/row_count`` on the dbt models' materializations, on DuckDB and on Trino.

On Trino, dagster-dbt's documented ``fetch_row_counts()`` counts tables and incremental models
through the dbt adapter as each is built (it leaves views out as possibly costly).

On the embedded default that adapter cannot be used here: dbt-duckdb keeps one DuckDB
connection open for the life of the process, so the run worker would then hold the file's lock
and the publish step and the next step's dbt would fail on it (seen: "Can't open a connection to
same database file with a different configuration"). So the step keeps dbt's events until dbt's
process has ended (what ``fetch_row_counts`` itself does on DuckDB), counts every model it built,
views included (the bronze renames of raw), on one read-only connection it closes at once, and
then yields the events with their counts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliInvocation

ROW_COUNT = "dagster/row_count"  # TableMetadataSet's key, what the UI shows as row count


def duckdb_row_counts(database: Path, relations: dict[str, str]) -> dict[str, int]:
    """``count(*)`` of each relation (by dbt unique id) in the DuckDB file, opened read-only."""
    # DuckDB when a step counts, not when the code location loads (the defs loader imports
    # every module of this folder)
    import duckdb

    from lakehouse.engine import load_extensions

    if not relations:
        return {}
    conn = duckdb.connect(str(database), read_only=True)
    try:
        load_extensions(conn)  # raw views read Iceberg (iceberg_scan)
        return {
            uid: conn.execute(f"select count(*) from {relation}").fetchone()[0]
            for uid, relation in relations.items()
        }
    finally:
        conn.close()


def with_duckdb_row_counts(invocation: DbtCliInvocation, database: Path) -> Iterator[Any]:
    """The invocation's events once dbt has ended, every model's Output with its row count.

    If dbt failed, the events so far are yielded as they are and dbt's error is raised.
    """
    events = []
    try:
        for event in invocation.stream():
            events.append(event)
    except Exception:
        yield from events
        raise
    nodes = invocation.manifest["nodes"]
    built = {
        event.metadata["unique_id"].value
        for event in events
        if isinstance(event, dg.Output) and "unique_id" in event.metadata
    }
    counts = duckdb_row_counts(database, {uid: nodes[uid]["relation_name"] for uid in built})
    for event in events:
        if isinstance(event, dg.Output) and "unique_id" in event.metadata:
            count = counts[event.metadata["unique_id"].value]
            event = event.with_metadata({**event.metadata, ROW_COUNT: count})
        yield event


def counted_stream(invocation: DbtCliInvocation, duckdb_file: Path | None) -> Iterator[Any]:
    """The invocation's Dagster events with row counts; ``duckdb_file``: the embedded engine's."""
    if duckdb_file is not None:
        return with_duckdb_row_counts(invocation, duckdb_file)
    return invocation.stream().fetch_row_counts()
