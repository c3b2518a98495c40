"""One maintenance pass over every table of the catalog on pyiceberg: compact, expire, sweep.

Compaction goes first (its overwrite adds a snapshot and leaves the small files unreferenced once
expiry lets the old snapshots go), then expiry, then the sweep of what nothing references any
more. The snapshot the build registry publishes for a table (``lakehouse.registry``) is kept,
and so is its tag. Each table is its own set of commits: a failure on one table is reported and the others
are still maintained; a failed commit leaves its table as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from pyiceberg.catalog import Catalog
from pyiceberg.table.snapshots import Snapshot

from lakehouse.maintenance.compact import CompactionResult, compact
from lakehouse.maintenance.expire import ExpiryResult, expire_snapshots
from lakehouse.maintenance.health import TableHealth, table_health
from lakehouse.maintenance.orphans import SweepResult, is_local, remove_orphans
from lakehouse.maintenance.policy import PolicyFor
from lakehouse.maintenance.tables import catalog_tables
from lakehouse.registry import published_snapshots

KeepSnapshot = Callable[[Snapshot], bool]


@dataclass(frozen=True)
class TableReport:
    table: str
    before: TableHealth | None = None
    after: TableHealth | None = None
    compaction: CompactionResult | None = None
    expiry: ExpiryResult | None = None
    sweep: SweepResult | None = None
    error: str | None = None

    def summary(self) -> str:
        if self.error:
            return f"{self.table}: FAILED, {self.error}"
        assert self.before is not None and self.after is not None
        return (
            f"{self.table}: data files {self.before.data_files} -> {self.after.data_files}, "
            f"snapshots {self.before.snapshots} -> {self.after.snapshots}, "
            + (f"orphans removed {len(self.sweep.removed)}" if self.sweep else "no orphan sweep")
        )


def maintain_catalog(
    catalog: Catalog, policy_for: PolicyFor, now: datetime, keep: KeepSnapshot
) -> list[TableReport]:
    """Maintain every table of ``catalog``; one report per table, failures included."""
    tables = list(catalog_tables(catalog))
    locations = [table.location() for _, table in tables]
    published = published_snapshots(catalog)
    reports = []
    for name, table in tables:
        before = None
        try:
            policy = policy_for(name)
            before = table_health(table, policy)
            compaction = compact(table, policy)
            expiry = expire_snapshots(table, policy, now, keep, published.get(name))
            # On an object store (the SQL-catalog variant) orphans are left to Trino's procedure.
            sweepable = policy.remove_orphans and is_local(table.location())
            sweep = remove_orphans(table, policy, now, locations) if sweepable else None
        except Exception as exc:  # reported per table; the pass goes on with the next one
            reports.append(TableReport(name, before, error=f"{type(exc).__name__}: {exc}"))
            continue
        reports.append(
            TableReport(name, before, table_health(table, policy), compaction, expiry, sweep)
        )
    return reports
