"""Write-audit-publish: a dbt build whose blocking tests passed becomes Iceberg snapshots.

dbt writes and tests in the engine's own working copy (the DuckDB file on the embedded default,
the ``<layer>_staging`` schemas on the cluster); consumers never read that copy. Only after every
dbt step of a run succeeded (every error-severity test passed: dagster-dbt's stream raises
otherwise) does the run's publish step (``orchestration/defs/dbt/publish.py``) publish all the
silver/gold tables the run built, in two steps:

1. each table gets one commit (the rows replaced and the build's rows added, carrying the build
   id in their snapshots' summaries, ``lakehouse/data_files.py``) and the tag
   ``build-<date>-<run>``; a table dbt builds incrementally gets only the rows the build
   changed, from the smallest changed key on (``lakehouse/publish_changes.py``), the others are
   replaced whole;
2. one append to the build registry (``publish.builds``) records every table's snapshot of the
   build. That commit is the moment the build is published: one per run, all its tables together.

pyiceberg has no multi-table commit, so step 1 is table by table: an engine that reads a table's
``main`` branch directly can see the new snapshot of one table before another's, for the seconds
step 1 takes. ``lakehouse.read`` and ``make sql`` resolve tables through the registry and so see
a build whole or not at all. Re-publishing a build (a retried step) reuses each table's snapshot
of that build id and records only the tables not yet recorded, so nothing is written twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import duckdb
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import AlwaysTrue, GreaterThanOrEqual
from pyiceberg.table import Table

from lakehouse.catalog import ensure_namespace, get_catalog, table_identifier
from lakehouse.data_files import FILE_SIZE_PROPERTY, commit_rows
from lakehouse.layers import PUBLISHED_LAYERS, Layer, staging_namespace
from lakehouse.publish_changes import (
    BATCH_ROWS,
    BUILT_THROUGH_PROPERTY,
    TARGET_FILE_BYTES,
    IncrementalDuckDBTable,
    has_built_at,
    published_through,
)
from lakehouse.registry import BuildRecord, record_builds, recorded_tables
from lakehouse.settings import Profile, Settings

log = logging.getLogger(__name__)

BUILD_ID_PROPERTY = "lakehouse.build-id"
BUILD_TAG_PREFIX = "build-"  # maintenance ages these tags out (lakehouse/maintenance/expire.py)


def build_tag(build_id: str, when: datetime) -> str:
    """The tag of a published build: ``build-<UTC date>-<first 8 characters of the run id>``."""
    return f"{BUILD_TAG_PREFIX}{when:%Y-%m-%d}-{build_id[:8]}"


def published_tables(asset_paths: Iterable[Sequence[str]]) -> list[tuple[Layer, str]]:
    """The (layer, table) of every selected asset that is published (silver and gold models)."""
    layers = {layer.value: layer for layer in PUBLISHED_LAYERS}
    return sorted((layers[path[0]], path[-1]) for path in asset_paths if path[0] in layers)


class BuildSource(Protocol):
    """Where a finished dbt build's tables are read from."""

    def reader(self, layer: Layer, name: str) -> pa.RecordBatchReader: ...

    def incremental(self, layer: Layer, name: str, key: str) -> IncrementalDuckDBTable | None:
        """The table, if its rows carry the mark of the run that wrote them."""


class DuckDBBuild:
    """The embedded default: the tables dbt built in the pipeline's DuckDB file."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn

    def reader(self, layer: Layer, name: str) -> pa.RecordBatchReader:
        return self.conn.table(f'{layer.value}."{name}"').fetch_arrow_reader(batch_size=BATCH_ROWS)

    def incremental(self, layer: Layer, name: str, key: str) -> IncrementalDuckDBTable | None:
        relation = f'{layer.value}."{name}"'
        if not has_built_at(self.conn, relation):
            return None
        return IncrementalDuckDBTable(self.conn, relation, key)


class StagingBuild:
    """The cluster: the Iceberg tables dbt-trino built and tested in ``<layer>_staging``."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def reader(self, layer: Layer, name: str) -> pa.RecordBatchReader:
        staged = self.catalog.load_table(f"{staging_namespace(layer)}.{name}")
        return staged.scan().to_arrow_batch_reader()

    def incremental(self, layer: Layer, name: str, key: str) -> None:
        return None  # not done on the cluster yet: staging tables are published whole


@contextmanager
def build_source(settings: Settings, catalog: Catalog) -> Iterator[BuildSource]:
    if settings.profile is Profile.LOCAL:
        # Read-only: dbt has exited, and a reader never needs the writer's lock. Capped: a
        # table's first publish sorts it whole by key (publish_changes.py); uncapped that took
        # the step's process to 3.8 GB at scale 48, under dbt's 1GB cap still to 2.2 GB.
        conn = duckdb.connect(
            str(settings.duckdb_path),
            read_only=True,
            config={"memory_limit": settings.publish_memory_limit},
        )
        try:
            yield DuckDBBuild(conn)
        finally:
            conn.close()
    else:
        yield StagingBuild(catalog)


def snapshot_of_build(table: Table, build_id: str) -> int | None:
    """The newest snapshot that ``build_id`` committed to ``table``, if any."""
    for snapshot in reversed(table.snapshots()):
        if snapshot.summary is not None and snapshot.summary.get(BUILD_ID_PROPERTY) == build_id:
            return snapshot.snapshot_id
    return None


def write_snapshot(
    catalog: Catalog, identifier: str, batches: pa.RecordBatchReader, build_id: str
) -> int:
    """Replace the table's rows with ``batches`` in one snapshot (creating or evolving the table)."""
    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        table = catalog.create_table(identifier, schema=batches.schema)
    if snapshot_id := snapshot_of_build(table, build_id):
        batches.close()
        return snapshot_id  # this build is already in the table: a retried publish
    # New columns are added (older snapshots keep theirs and stay readable); a type change that
    # Iceberg does not allow as a promotion fails here, before any data is written.
    with table.update_schema() as update:
        update.union_by_name(batches.schema)
    properties = {BUILD_ID_PROPERTY: build_id}
    # A new table has nothing to replace.
    replacing = None if table.current_snapshot() is None else AlwaysTrue()
    commit_rows(table, batches, properties, replacing)
    snapshot_id = snapshot_of_build(table, build_id)
    if snapshot_id is None:
        raise RuntimeError(f"{identifier}: the publish of build {build_id} committed no snapshot")
    return snapshot_id


def records(table: Table, snapshot_id: int) -> int:
    """The rows of the table as of the snapshot (from its summary; nothing is read)."""
    return int(table.snapshot_by_id(snapshot_id).summary["total-records"])


def write_changed_rows(
    catalog: Catalog, identifier: str, build: IncrementalDuckDBTable, build_id: str
) -> int:
    """Publish an incrementally built table: the rows from the smallest changed key on, or all
    of them when the table is new, gained columns, or its last publish recorded no mark."""
    schema = build.schema()
    try:
        table = catalog.load_table(identifier)
    except NoSuchTableError:
        table = catalog.create_table(
            identifier, schema=schema, properties={FILE_SIZE_PROPERTY: str(TARGET_FILE_BYTES)}
        )
    earlier = snapshot_of_build(table, build_id)
    if earlier and records(table, earlier) == build.row_count():
        return earlier  # a retried publish
    added = set(schema.names) - set(table.schema().column_names)
    with table.update_schema() as update:
        update.union_by_name(schema)
    # A snapshot of this build whose count differs is a publish cut off between the changed
    # rows and the whole table (below): publish whole.
    since = None if added or earlier else published_through(table)
    newest = build.newest_mark()
    if newest is None:  # an empty table: nothing to mark
        return write_snapshot(catalog, identifier, build.reader(), build_id)
    properties = {BUILD_ID_PROPERTY: build_id, BUILT_THROUGH_PROPERTY: newest.isoformat()}
    from_key = build.smallest_key_built_after(since) if since is not None else None
    if since is not None and from_key is None:
        # No row written since the last publish: the current snapshot already is this build.
        return table.current_snapshot().snapshot_id
    if from_key is None:
        if table.properties.get(FILE_SIZE_PROPERTY) != str(TARGET_FILE_BYTES):
            with table.transaction() as tx:
                tx.set_properties({FILE_SIZE_PROPERTY: str(TARGET_FILE_BYTES)})
        replacing = None if table.current_snapshot() is None else AlwaysTrue()
        commit_rows(table, build.reader(), properties, replacing)
    else:
        commit_rows(
            table, build.reader(from_key), properties, GreaterThanOrEqual(build.key, from_key)
        )
        published = records(table, table.current_snapshot().snapshot_id)
        if published != build.row_count():  # a row changed without its mark: publish all
            log.warning(
                "%s: %d rows after publishing the changed rows, the build has %d; publishing all",
                identifier,
                published,
                build.row_count(),
            )
            commit_rows(table, build.reader(), properties, AlwaysTrue())
    snapshot_id = snapshot_of_build(table, build_id)
    if snapshot_id is None:
        raise RuntimeError(f"{identifier}: the publish of build {build_id} committed no snapshot")
    return snapshot_id


def tag_snapshot(table: Table, snapshot_id: int, tag: str) -> None:
    if tag not in table.refs():
        table.manage_snapshots().create_tag(snapshot_id, tag).commit()


@dataclass(frozen=True)
class PublishedBuild:
    build_id: str
    tag: str
    snapshots: dict[str, int]  # "<layer>.<table>" -> snapshot id


def publish_build(
    settings: Settings,
    build_id: str,
    asset_paths: Iterable[Sequence[str]],
    unique_keys: Mapping[str, str] | None = None,
) -> PublishedBuild | None:
    """Publish the silver/gold tables among ``asset_paths`` that the finished build wrote.

    Call it only after the build's blocking tests passed. ``unique_keys``: the unique key of each
    incrementally built table, by ``<layer>.<table>``; those whose rows carry ``built_at`` are
    published from their smallest changed key on. Returns None when the selection holds no
    published table (a bronze-only run).
    """
    tables = published_tables(asset_paths)
    if not tables:
        return None
    catalog = get_catalog(settings)
    for layer in PUBLISHED_LAYERS:
        ensure_namespace(catalog, layer.value)
    done = recorded_tables(catalog, build_id)
    now = datetime.now(UTC)
    tag = next(iter(done.values())).tag if done else build_tag(build_id, now)
    snapshots: dict[str, int] = {}
    with build_source(settings, catalog) as source:
        for layer, name in tables:
            identifier = table_identifier(layer, name)
            key = (unique_keys or {}).get(identifier)
            incremental = source.incremental(layer, name, key) if key else None
            if incremental is not None:
                snapshot_id = write_changed_rows(catalog, identifier, incremental, build_id)
            else:
                batches = source.reader(layer, name)
                snapshot_id = write_snapshot(catalog, identifier, batches, build_id)
            tag_snapshot(catalog.load_table(identifier), snapshot_id, tag)
            snapshots[identifier] = snapshot_id
    # The one commit that publishes the build: readers resolve tables through these records.
    record_builds(
        catalog,
        [
            BuildRecord(build_id, tag, identifier, snapshot_id, now, "publish")
            for identifier, snapshot_id in snapshots.items()
            if identifier not in done
        ],
    )
    log.info("Published build %s as %s: %s", build_id, tag, ", ".join(snapshots))
    return PublishedBuild(build_id, tag, snapshots)
