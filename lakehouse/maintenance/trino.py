"""The cluster's maintenance: Trino's Iceberg procedures, one statement per table and step.

Statement forms from Trino's Iceberg connector documentation (``ALTER TABLE ... EXECUTE
optimize(file_size_threshold => ...)``, ``expire_snapshots(retention_threshold => ...)``,
``remove_orphan_files(retention_threshold => ...)``). Trino refuses retention thresholds below
``iceberg.expire-snapshots.min-retention`` / ``iceberg.remove-orphan-files.min-retention`` (7 days
by default); the policy's values are passed as they are and such a refusal fails the step.
No Trino can run where this project is developed: the statements are tested as text only.
"""

from __future__ import annotations

import re
from datetime import timedelta

from lakehouse.maintenance.policy import MaintenancePolicy

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def maintenance_statements(catalog: str, table: str, policy: MaintenancePolicy) -> list[str]:
    """The statements for ``table`` (``namespace.name``), in order: compact, expire, sweep."""
    name = ".".join(_quoted(part) for part in [catalog, *table.split(".")])
    statements = []
    if policy.compact:
        statements.append(
            f"ALTER TABLE {name} EXECUTE optimize(file_size_threshold => "
            f"'{_size(policy.small_file_bytes)}')"
        )
    if policy.expire_snapshots:
        statements.append(
            f"ALTER TABLE {name} EXECUTE expire_snapshots(retention_threshold => "
            f"'{_duration(policy.max_snapshot_age)}')"
        )
    if policy.remove_orphans:
        statements.append(
            f"ALTER TABLE {name} EXECUTE remove_orphan_files(retention_threshold => "
            f"'{_duration(policy.orphan_min_age)}')"
        )
    return statements


def _quoted(part: str) -> str:
    if not _IDENTIFIER.match(part):
        raise ValueError(f"{part!r} is not a plain identifier; refusing to build SQL with it")
    return f'"{part}"'


def _size(n_bytes: int) -> str:
    # Trino's DataSize: whole megabytes where exact, bytes otherwise.
    mb = 1024 * 1024
    return f"{n_bytes // mb}MB" if n_bytes % mb == 0 else f"{n_bytes}B"


def _duration(age: timedelta) -> str:
    # Trino's Duration: whole days, hours or seconds.
    seconds = int(age.total_seconds())
    if seconds % 86400 == 0:
        return f"{seconds // 86400}d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    return f"{seconds}s"
