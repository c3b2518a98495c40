"""The build registry, ``publish.builds``: which snapshot of each published table is current.

One Iceberg table in the same catalog, one row per table per published build (or rollback).
Appending a build's rows is a single atomic commit, which makes a build's tables visible
together to every reader that resolves them here (``lakehouse.read``, ``make sql``).
"""

from __future__ import annotations

from dataclasses import astuple, dataclass
from datetime import datetime

import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import EqualTo
from pyiceberg.table import Table

from lakehouse.catalog import ensure_namespace
from lakehouse.layers import PUBLISH_NAMESPACE

REGISTRY_TABLE = f"{PUBLISH_NAMESPACE}.builds"

SCHEMA = pa.schema(
    [
        pa.field("build_id", pa.string(), nullable=False),
        pa.field("tag", pa.string(), nullable=False),
        pa.field("table_name", pa.string(), nullable=False),  # "<layer>.<table>"
        pa.field("snapshot_id", pa.int64(), nullable=False),
        pa.field("recorded_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("action", pa.string(), nullable=False),  # publish | rollback
    ]
)


@dataclass(frozen=True)
class BuildRecord:
    build_id: str
    tag: str
    table_name: str
    snapshot_id: int
    recorded_at: datetime
    action: str


def registry(catalog: Catalog, *, create: bool = False) -> Table | None:
    try:
        return catalog.load_table(REGISTRY_TABLE)
    except NoSuchTableError:
        if not create:
            return None
    ensure_namespace(catalog, PUBLISH_NAMESPACE)
    return catalog.create_table_if_not_exists(REGISTRY_TABLE, schema=SCHEMA)


def record_builds(catalog: Catalog, records: list[BuildRecord]) -> None:
    """Append ``records`` in one commit (nothing when empty)."""
    if not records:
        return
    table = registry(catalog, create=True)
    assert table is not None
    rows = pa.Table.from_pylist(
        [dict(zip(SCHEMA.names, astuple(r), strict=True)) for r in records], schema=SCHEMA
    )
    table.append(rows)


def _records(table: Table | None, row_filter=None) -> list[BuildRecord]:
    if table is None:
        return []
    scan = table.scan(row_filter=row_filter) if row_filter is not None else table.scan()
    return [BuildRecord(**row) for row in scan.to_arrow().to_pylist()]


def recorded_tables(catalog: Catalog, build_id: str) -> dict[str, BuildRecord]:
    """The tables ``build_id`` already published, by name."""
    found = _records(registry(catalog), EqualTo("build_id", build_id))
    return {r.table_name: r for r in found if r.action == "publish"}


def current_records(catalog: Catalog, as_of: datetime | None = None) -> dict[str, BuildRecord]:
    """Per published table, its newest record (at or before ``as_of`` when given)."""
    latest: dict[str, BuildRecord] = {}
    for record in sorted(_records(registry(catalog)), key=lambda r: r.recorded_at):
        if as_of is None or record.recorded_at <= as_of:
            latest[record.table_name] = record
    return latest


def published_snapshots(catalog: Catalog) -> dict[str, int]:
    """Per published table, the snapshot readers resolve now (what maintenance must keep)."""
    return {name: record.snapshot_id for name, record in current_records(catalog).items()}
