"""The one reading interface for consumers: ``lakehouse.read(table, as_of=None)``.

It reads Iceberg through the catalog of the active profile (the embedded SQL catalog or
Polaris), never the pipeline's DuckDB file, so a reader never holds a writer's lock. Published
tables (silver, gold) are read at the snapshot the build registry names, so a reader sees a whole
build; raw tables at their current snapshot. ``as_of`` picks an older state: a tag
(``build-2026-11-26-1a2b3c4d``), a snapshot id, or a timestamp (a ``datetime`` or ISO text;
for published tables the build that was current then).
"""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table

from lakehouse.catalog import get_catalog
from lakehouse.registry import current_records
from lakehouse.settings import Settings

AsOf = str | int | datetime | None


class ReadError(ValueError):
    """The table or the requested state of it does not exist; the message says what does."""


def parse_as_of(as_of: AsOf) -> str | int | datetime | None:
    """A snapshot id (int), a timestamp (aware datetime, UTC if none given) or a ref name."""
    if isinstance(as_of, str):
        if as_of.isdigit():
            return int(as_of)
        try:
            as_of = datetime.fromisoformat(as_of)
        except ValueError:
            return as_of  # a tag or branch name
    if isinstance(as_of, datetime) and as_of.tzinfo is None:
        return as_of.replace(tzinfo=UTC)
    return as_of


def load(catalog: Catalog, name: str) -> Table:
    if name.count(".") != 1:
        raise ReadError(f"{name!r}: name a table as <layer>.<table>, e.g. gold.daily_revenue")
    try:
        return catalog.load_table(name)
    except NoSuchTableError:
        raise ReadError(f"{name}: no such table in the catalog") from None


def resolve_snapshot(catalog: Catalog, table: Table, name: str, as_of: AsOf = None) -> int | None:
    """The snapshot id to read ``name`` at (None: an empty table with no snapshot)."""
    wanted = parse_as_of(as_of)
    if wanted is None or isinstance(wanted, datetime):
        record = current_records(catalog, wanted).get(name)
        if record is not None:
            if table.snapshot_by_id(record.snapshot_id) is None:  # maintenance let it go
                raise ReadError(
                    f"{name}: the build published then ({record.tag}) has expired; tags left: "
                    + (", ".join(sorted(table.refs())) or "none")
                )
            return record.snapshot_id
        if wanted is None:
            snapshot = table.current_snapshot()
            return snapshot.snapshot_id if snapshot else None
        snapshot = table.snapshot_as_of_timestamp(int(wanted.timestamp() * 1000))
        if snapshot is None:
            raise ReadError(f"{name} has no snapshot at or before {wanted.isoformat()}")
        return snapshot.snapshot_id
    if isinstance(wanted, int):
        if table.snapshot_by_id(wanted) is None:
            raise ReadError(f"{name} has no snapshot {wanted}")
        return wanted
    snapshot = table.snapshot_by_name(wanted)
    if snapshot is None:
        tags = ", ".join(sorted(table.refs())) or "none"
        raise ReadError(f"{name} has no tag or branch {wanted!r} (it has: {tags})")
    return snapshot.snapshot_id


def read(
    table: str,
    as_of: AsOf = None,
    *,
    catalog: Catalog | None = None,
    settings: Settings | None = None,
) -> pa.Table:
    """``table`` (``<layer>.<table>``) as Arrow, at its published state or as of ``as_of``."""
    catalog = catalog or get_catalog(settings or Settings.from_env())
    iceberg = load(catalog, table)
    snapshot_id = resolve_snapshot(catalog, iceberg, table, as_of)
    if snapshot_id is None:
        return iceberg.schema().as_arrow().empty_table()
    return iceberg.scan(snapshot_id=snapshot_id).to_arrow()


def scan_sql(table: Table, snapshot_id: int | None) -> str:
    """DuckDB SQL reading ``table`` at ``snapshot_id`` through the iceberg extension (lazily)."""
    at = f", snapshot_from_id={snapshot_id}" if snapshot_id is not None else ""
    return f"SELECT * FROM iceberg_scan('{table.metadata_location}'{at})"


def relation(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    as_of: AsOf = None,
    *,
    catalog: Catalog | None = None,
) -> duckdb.DuckDBPyRelation:
    """``table`` as a lazy DuckDB relation on ``conn`` (iceberg extension loaded by the caller,
    e.g. ``lakehouse.engine.load_extensions``), resolved like :func:`read`."""
    catalog = catalog or get_catalog()
    iceberg = load(catalog, table)
    return conn.sql(scan_sql(iceberg, resolve_snapshot(catalog, iceberg, table, as_of)))
