"""Table maintenance on the embedded engine (pyiceberg 0.12 and the project's own sweep), on real
Iceberg tables in a temporary SQL catalog: compaction, snapshot expiry, orphan removal, health.

Rows are checked against the rows the test appended, not against what maintenance read.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import ForbiddenError
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import LongType, NestedField, StringType

from lakehouse.catalog import get_catalog
from lakehouse.maintenance.compact import compact
from lakehouse.maintenance.expire import expirable_snapshot_ids, expire_snapshots
from lakehouse.maintenance.health import MAX_SMALL_FILES, table_health
from lakehouse.maintenance.orphans import SweepError, reachable_files, remove_orphans
from lakehouse.maintenance.policy import MaintenancePolicy
from lakehouse.maintenance.run import maintain_catalog
from lakehouse.maintenance.tables import catalog_tables
from lakehouse.settings import Settings

DAYS = 30
ROWS_PER_DAY = 20
SCHEMA = pa.schema([pa.field("id", pa.int64(), nullable=False), pa.field("day", pa.string())])
ICEBERG_SCHEMA = Schema(
    NestedField(1, "id", LongType(), required=True), NestedField(2, "day", StringType())
)
# Everything is "old" for these tests unless a test says otherwise.
NOW = datetime.now(UTC) + timedelta(days=30)
POLICY = MaintenancePolicy(max_snapshot_age=timedelta(days=1), min_snapshots_to_keep=2)


def day_rows(day: int) -> pa.Table:
    ids = range(day * ROWS_PER_DAY, (day + 1) * ROWS_PER_DAY)
    return pa.table({"id": list(ids), "day": [f"d{day:02d}"] * ROWS_PER_DAY}, schema=SCHEMA)


def ids(table: Table, snapshot_id: int | None = None) -> list[int]:
    return sorted(table.scan(snapshot_id=snapshot_id).to_arrow()["id"].to_pylist())


@pytest.fixture
def catalog(lakehouse_env: Settings) -> Catalog:
    catalog = get_catalog(lakehouse_env)
    catalog.create_namespace("raw")
    catalog.create_namespace("gold")
    return catalog


def daily_table(catalog: Catalog, name: str, partitioned: bool = False) -> Table:
    spec = (
        PartitionSpec(PartitionField(2, 1000, IdentityTransform(), "day"))
        if partitioned
        else PartitionSpec()
    )
    table = catalog.create_table(name, schema=ICEBERG_SCHEMA, partition_spec=spec)
    for day in range(DAYS):
        table.append(day_rows(day))
    return table


def data_paths(table: Table) -> set[str]:
    return {task.file.file_path for task in table.scan().plan_files()}


def test_thirty_daily_appends_end_bounded_with_every_row_once(catalog: Catalog) -> None:
    daily_table(catalog, "raw.events")
    daily_table(catalog, "gold.daily", partitioned=True)
    expected = list(range(DAYS * ROWS_PER_DAY))

    reports = maintain_catalog(catalog, lambda _: POLICY, NOW, keep=lambda _: False)

    by_name = {r.table: r for r in reports}
    assert set(by_name) == {"raw.events", "gold.daily"}  # discovered from the catalog
    for name, report in by_name.items():
        assert report.error is None, report.error
        print(report.summary())
        assert report.before.data_files == DAYS and report.before.snapshots == DAYS
        assert report.after is not None
        assert report.after.snapshots <= POLICY.min_snapshots_to_keep + 1, name
        assert ids(catalog.load_table(name)) == expected, name
    # Unpartitioned: one file. Partitioned by day: one file per day already, none of them small
    # in a group of min_input_files (one file per partition), so nothing is rewritten.
    assert by_name["raw.events"].after.data_files == 1
    assert by_name["gold.daily"].compaction.partitions_rewritten == 0
    assert by_name["gold.daily"].after.data_files == DAYS
    # The expired snapshots' files were swept; every file the table refers to is still there.
    assert by_name["raw.events"].sweep and by_name["raw.events"].sweep.removed
    for _, table in catalog_tables(catalog):
        assert all(Path(p).exists() for p in reachable_files(table))


def test_compaction_rewrites_only_partitions_with_many_small_files(catalog: Catalog) -> None:
    table = daily_table(catalog, "gold.daily", partitioned=True)
    for _ in range(POLICY.min_input_files - 1):  # d00 now holds min_input_files files
        table.append(day_rows(0))
    untouched = {p for p in data_paths(table) if "day=d00" not in p}

    result = compact(table, POLICY)

    assert result.partitions_rewritten == 1
    assert result.files_before == DAYS + POLICY.min_input_files - 1
    assert result.files_after == DAYS
    assert untouched <= data_paths(table)  # other partitions kept their files
    d00 = [r for r in ids(table) if r < ROWS_PER_DAY]
    assert d00 == sorted(list(range(ROWS_PER_DAY)) * POLICY.min_input_files)


def test_compaction_loses_no_row_appended_by_another_writer_meanwhile(catalog: Catalog) -> None:
    daily_table(catalog, "raw.events")
    stale = catalog.load_table("raw.events")  # compaction starts from this snapshot
    catalog.load_table("raw.events").append(day_rows(DAYS))  # another writer commits first

    try:
        compact(stale, POLICY)
    except Exception as exc:  # refusing is fine; losing or doubling rows is not
        print(f"compaction refused: {type(exc).__name__}: {exc}")

    assert ids(catalog.load_table("raw.events")) == list(range((DAYS + 1) * ROWS_PER_DAY))


def test_compaction_respects_a_disabled_policy(catalog: Catalog) -> None:
    table = daily_table(catalog, "raw.events")
    result = compact(table, MaintenancePolicy(compact=False))
    assert result.partitions_rewritten == 0 and len(data_paths(table)) == DAYS


def test_expiry_keeps_tags_the_newest_the_young_and_what_the_caller_needs(
    catalog: Catalog,
) -> None:
    table = daily_table(catalog, "raw.events")
    snapshots = sorted(table.snapshots(), key=lambda s: s.timestamp_ms)
    tagged, needed = snapshots[3], snapshots[7]
    table.manage_snapshots().create_tag(tagged.snapshot_id, "build-d03").commit()

    expirable = expirable_snapshot_ids(
        table, POLICY, NOW, keep=lambda s: s.snapshot_id == needed.snapshot_id
    )
    kept = {s.snapshot_id for s in snapshots} - set(expirable)
    newest = {s.snapshot_id for s in snapshots[-POLICY.min_snapshots_to_keep :]}
    assert kept == {tagged.snapshot_id, needed.snapshot_id} | newest
    # Nothing is older than the retention when "now" is now: nothing expires.
    assert expirable_snapshot_ids(table, POLICY, datetime.now(UTC)) == []

    result = expire_snapshots(
        table, POLICY, NOW, keep=lambda s: s.snapshot_id == needed.snapshot_id
    )
    assert result.expired == DAYS - len(kept)
    assert {s.snapshot_id for s in catalog.load_table("raw.events").snapshots()} == kept
    # Time travel to a kept snapshot still reads that snapshot's rows.
    assert ids(table, tagged.snapshot_id) == list(range(4 * ROWS_PER_DAY))


def test_expiry_removes_tags_older_than_the_policy_allows(catalog: Catalog) -> None:
    table = daily_table(catalog, "gold.daily")
    snapshots = sorted(table.snapshots(), key=lambda s: s.timestamp_ms)
    table.manage_snapshots().create_tag(snapshots[0].snapshot_id, "build-d00").create_tag(
        snapshots[-1].snapshot_id, "build-d29"
    ).create_branch(snapshots[1].snapshot_id, "audit").commit()
    now = datetime.fromtimestamp(snapshots[-1].timestamp_ms / 1000, UTC) + timedelta(days=10)
    # The tag age's cutoff falls between the first and the last snapshot.
    middle_ms = (snapshots[0].timestamp_ms + snapshots[-1].timestamp_ms) / 2
    tag_age = now - datetime.fromtimestamp(middle_ms / 1000, UTC)
    table.manage_snapshots().create_tag(snapshots[2].snapshot_id, "before-migration").commit()
    policy = MaintenancePolicy(
        max_snapshot_age=timedelta(days=1),
        min_snapshots_to_keep=1,
        max_tag_age=tag_age,
        min_build_tags_to_keep=1,
    )

    result = expire_snapshots(table, policy, now)

    assert result.tags_removed == ("build-d00",)
    refs = catalog.load_table("gold.daily").metadata.refs
    # a branch is never removed, nor a tag made by hand
    assert set(refs) == {"main", "build-d29", "audit", "before-migration"}
    kept = {s.snapshot_id for s in catalog.load_table("gold.daily").snapshots()}
    assert kept == {s.snapshot_id for s in (snapshots[1], snapshots[2], snapshots[-1])}
    # Without a tag age every tag stays.
    no_ageing = MaintenancePolicy(max_snapshot_age=timedelta(days=1), max_tag_age=None)
    assert expire_snapshots(table, no_ageing, now).tags_removed == ()


def age(path: Path, days: float) -> None:
    then = time.time() - days * 86400
    os.utime(path, (then, then))


def test_orphan_sweep_removes_old_orphans_only(catalog: Catalog) -> None:
    table = daily_table(catalog, "raw.events")
    expire_snapshots(table, POLICY, NOW)
    kept_snapshots = [s.snapshot_id for s in table.snapshots()]
    referenced = {Path(p) for p in reachable_files(table)}
    root = Path(table.location().removeprefix("file://"))
    every_file = [p for p in root.rglob("*") if p.is_file()]
    for path in every_file:  # every file is old: only references may protect them
        age(path, 10)
    old_orphan = root / "data" / "00000-0-old-orphan.parquet"
    old_orphan.write_bytes(b"PAR1 left by a crashed writer")
    age(old_orphan, 10)
    fresh = root / "data" / "00000-0-in-flight.parquet"  # a writer's file, not committed yet
    fresh.write_bytes(b"PAR1 being written")
    not_iceberg = root / "metadata" / "notes.txt"
    not_iceberg.write_text("not a file Iceberg writes")
    age(not_iceberg, 10)
    unreferenced_before = {p for p in every_file if p not in referenced}
    assert unreferenced_before, "expiry left no unreferenced file: the test proves nothing"

    result = remove_orphans(table, POLICY, datetime.now(UTC))

    assert set(map(Path, result.removed)) == unreferenced_before | {old_orphan}
    assert all(p.exists() for p in referenced)
    assert fresh.exists() and not_iceberg.exists() and result.too_young == 1
    for snapshot_id in kept_snapshots:  # every kept snapshot is still whole
        assert ids(catalog.load_table("raw.events"), snapshot_id)
    # A second sweep finds nothing more.
    assert remove_orphans(table, POLICY, datetime.now(UTC)).removed == ()


def test_orphan_sweep_refuses_a_table_with_another_inside(catalog: Catalog) -> None:
    table = daily_table(catalog, "raw.events")
    inner = table.location() + "/data/nested"
    with pytest.raises(SweepError, match="another table lies inside"):
        remove_orphans(table, POLICY, NOW, [inner])


def test_health_counts_files_bytes_and_snapshots(catalog: Catalog) -> None:
    table = daily_table(catalog, "raw.events")
    files = list(table.scan().plan_files())
    health = table_health(table, POLICY)
    assert health.data_files == DAYS == health.small_files == health.snapshots
    assert health.records == DAYS * ROWS_PER_DAY
    assert health.data_bytes == sum(
        Path(t.file.file_path.removeprefix("file://")).stat().st_size for t in files
    )
    assert health.mean_file_bytes == health.data_bytes // DAYS
    assert health.problems() == []  # 30 small files and snapshots: under the thresholds
    for _ in range(MAX_SMALL_FILES - DAYS + 1):
        table.append(day_rows(0))
    assert "small data files" in " ".join(table_health(table, POLICY).problems())


def test_a_failing_table_is_reported_and_the_others_maintained(catalog: Catalog) -> None:
    daily_table(catalog, "raw.events")
    daily_table(catalog, "gold.daily")

    def policy_for(name: str) -> MaintenancePolicy:
        if name == "gold.daily":
            raise RuntimeError("policy unreadable")
        return POLICY

    reports = {r.table: r for r in maintain_catalog(catalog, policy_for, NOW, lambda _: False)}

    assert reports["gold.daily"].error == "RuntimeError: policy unreadable"
    assert "FAILED" in reports["gold.daily"].summary()
    assert len(data_paths(catalog.load_table("gold.daily"))) == DAYS  # left as it was
    assert reports["raw.events"].error is None
    assert len(data_paths(catalog.load_table("raw.events"))) == 1


class PolicyNamespaceForbidden:
    """The catalog as the cluster's maintainer sees it through Polaris: it may list every
    namespace (catalog_browser) but not the tables of ``maintenance``, which holds policies and
    on which it has no grant (403, ``ForbiddenError``)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def list_namespaces(self, parent: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
        if parent == ("maintenance",):
            return []
        return [*self.catalog.list_namespaces(parent), *([("maintenance",)] if not parent else [])]

    def list_tables(self, namespace: tuple[str, ...]) -> list[tuple[str, ...]]:
        if namespace == ("maintenance",):
            raise ForbiddenError("Principal 'table_maintainer' is not authorized for TABLE_LIST")
        return self.catalog.list_tables(namespace)

    def load_table(self, identifier: tuple[str, ...]) -> Table:
        return self.catalog.load_table(identifier)


def test_a_namespace_the_maintainer_may_not_list_is_passed_over(catalog: Catalog) -> None:
    daily_table(catalog, "raw.events")
    daily_table(catalog, "gold.events")
    found = [name for name, _ in catalog_tables(PolicyNamespaceForbidden(catalog))]
    assert found == ["gold.events", "raw.events"]
