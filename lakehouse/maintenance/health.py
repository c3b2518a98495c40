"""Table health: files, mean file size, snapshots and bytes of a table's current state."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pyiceberg.table import Table

from lakehouse.maintenance.policy import MaintenancePolicy

# Warning thresholds of the health checks.
MAX_SMALL_FILES = 50  # more small data files than this in one table: compaction is behind
MAX_SNAPSHOTS = 100  # more snapshots than this: expiry is behind


@dataclass(frozen=True)
class TableHealth:
    data_files: int
    small_files: int  # data files under the policy's small-file size
    data_bytes: int
    records: int
    snapshots: int

    @property
    def mean_file_bytes(self) -> int:
        return self.data_bytes // self.data_files if self.data_files else 0

    def problems(self) -> list[str]:
        """What a warning-level check reports; empty when the table is healthy."""
        found = []
        if self.small_files > MAX_SMALL_FILES:
            found.append(f"{self.small_files} small data files (over {MAX_SMALL_FILES}): compact")
        if self.snapshots > MAX_SNAPSHOTS:
            found.append(f"{self.snapshots} snapshots (over {MAX_SNAPSHOTS}): expire snapshots")
        return found

    def as_metadata(self) -> dict[str, int]:
        return {**asdict(self), "mean_file_bytes": self.mean_file_bytes}


def table_health(table: Table, policy: MaintenancePolicy) -> TableHealth:
    """Figures of the current snapshot's data files (manifests only, no data is read)."""
    files = [task.file for task in table.scan().plan_files()]
    return TableHealth(
        data_files=len(files),
        small_files=sum(1 for f in files if f.file_size_in_bytes < policy.small_file_bytes),
        data_bytes=sum(f.file_size_in_bytes for f in files),
        records=sum(f.record_count for f in files),
        snapshots=len(table.snapshots()),
    )
