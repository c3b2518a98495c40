"""Publish only the rows a build changed, for the tables dbt builds incrementally.

An incremental model (delete+insert on its unique key) marks every row it writes with
``built_at``, the start of the dbt run that wrote it (macro ``built_at``). It deletes only keys it
inserts again, so after any number of runs the table differs from what it was at its last publish
exactly in the rows whose ``built_at`` is newer than the newest one published then (recorded in
that snapshot's summary, ``BUILT_THROUGH_PROPERTY``). With ``K`` the smallest key among those rows,
the rows below ``K`` did not change, and one pyiceberg ``overwrite`` with the row filter
``key >= K`` and the build's rows with ``key >= K`` makes the table equal the build.

A range filter, not ``In(keys)``: pyiceberg 0.12 drops whole files whose key range lies above
``K`` without reading them and rewrites only the file holding ``K``
(``pyiceberg/table/__init__.py``, ``Transaction.overwrite`` and ``delete``: files the filter
fully matches are dropped, partly matching ones rewritten); an ``In`` of more than 200 keys
prunes nothing (``IN_PREDICATE_LIMIT`` in ``pyiceberg/expressions/visitors.py``), so every file
would be read and rewritten. Full publishes write the rows ordered by key in files of
``TARGET_FILE_BYTES`` so the keys a day touches (new ones, and recent orders) sit in the last
files. Measured on the 8M-row ``fct_order_items`` at scale 48 (one day changed 178,175 rows above
the 87th percentile of keys): the whole table 14.1 s, the range overwrite 1.9 s, ``In(keys)`` 10.1 s.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa
from pyiceberg.table import Table

BUILT_AT = "built_at"  # the column the dbt macro built_at() writes
BUILT_THROUGH_PROPERTY = "lakehouse.built-through"  # newest built_at a snapshot holds
TARGET_FILE_BYTES = 64 * 2**20  # pyiceberg's write.target-file-size-bytes (in-memory Arrow size)
# Rows per batch read from the build: data_files.py gathers them into row groups of ~1M rows,
# so a group in the making holds at most one batch more than the group.
BATCH_ROWS = 250_000


def published_through(table: Table) -> datetime | None:
    """The newest ``built_at`` the table's current snapshot holds (None: not recorded)."""
    snapshot = table.current_snapshot()
    if snapshot is None or snapshot.summary is None:
        return None
    recorded = snapshot.summary.get(BUILT_THROUGH_PROPERTY)
    return datetime.fromisoformat(recorded) if recorded else None


class IncrementalDuckDBTable:
    """A DuckDB table with a ``built_at`` column and a unique key: read whole or from a key on."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, relation: str, key: str) -> None:
        self.conn, self.relation, self.key = conn, relation, key

    def reader(self, from_key: Any | None = None) -> pa.RecordBatchReader:
        """The rows ordered by key (from ``from_key`` on, when given)."""
        where, params = ("", []) if from_key is None else (f'where "{self.key}" >= ?', [from_key])
        query = f'select * from {self.relation} {where} order by "{self.key}"'
        return self.conn.execute(query, params).fetch_record_batch(BATCH_ROWS)

    def schema(self) -> pa.Schema:
        return self.conn.execute(f"select * from {self.relation} limit 0").arrow().schema

    def newest_mark(self) -> datetime | None:
        """The newest ``built_at`` in the table (None: no row)."""
        return self.conn.execute(f"select max({BUILT_AT}) from {self.relation}").fetchone()[0]

    def smallest_key_built_after(self, since: datetime) -> Any | None:
        """The smallest key among the rows written after ``since`` (None: no such row)."""
        return self.conn.execute(
            f'select min("{self.key}") from {self.relation} where {BUILT_AT} > ?', [since]
        ).fetchone()[0]

    def row_count(self) -> int:
        return self.conn.execute(f"select count(*) from {self.relation}").fetchone()[0]


def has_built_at(conn: duckdb.DuckDBPyConnection, relation: str) -> bool:
    return BUILT_AT in conn.table(relation).columns
