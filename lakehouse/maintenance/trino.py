"""The cluster's maintenance: Trino's Iceberg procedures, one statement per table and step.

Statement forms from Trino's Iceberg connector documentation (``ALTER TABLE ... EXECUTE
optimize(file_size_threshold => ...)``, ``expire_snapshots(retention_threshold => ...)``,
``remove_orphan_files(retention_threshold => ...)``). Trino refuses retention thresholds below
``iceberg.expire-snapshots.min-retention`` / ``iceberg.remove-orphan-files.min-retention`` (7 days
by default); the policy's values are passed as they are and such a refusal fails the step.
Trino cannot be told which snapshots a pending dlt load still needs (``ingestion.pending``): in
the cluster the exactly-once marker is protected by the retention alone, at least 7 days (Trino's
minimum), which a pending load resumed by a later daily run stays well within.
No Trino can run where this project is developed: the statements are tested as text only.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pyiceberg.catalog import Catalog

from lakehouse.maintenance.health import table_health
from lakehouse.maintenance.policy import MaintenancePolicy, PolicyFor
from lakehouse.maintenance.run import TableReport
from lakehouse.maintenance.settings import DEFAULT_TRINO_CATALOG
from lakehouse.maintenance.tables import catalog_tables
from lakehouse.settings import Settings

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


def maintain_with_trino(
    settings: Settings,
    catalog: Catalog,
    policy_for: PolicyFor,
    connect: Callable[[], Any] | None = None,
) -> list[TableReport]:
    """Run each table's statements through Trino; health is read from the catalog around them.

    ``connect`` returns a DB-API connection (default: ``trino.dbapi`` to the configured Trino).
    A failed statement fails its table only; the statements already run stay done (each is its
    own Iceberg commit in Trino).
    """
    connect = connect or (lambda: _trino_connection(settings))
    connection = connect()
    reports = []
    for name, table in catalog_tables(catalog):
        before = None
        try:
            policy = policy_for(name)
            before = table_health(table, policy)
            statements = maintenance_statements(
                settings.trino.catalog if settings.trino else DEFAULT_TRINO_CATALOG, name, policy
            )
            cursor = connection.cursor()
            for statement in statements:
                cursor.execute(statement)
                cursor.fetchall()  # Trino runs a statement as its result is read
            after = table_health(catalog.load_table(name), policy)
        except Exception as exc:  # reported per table; the pass goes on with the next one
            reports.append(TableReport(name, before, error=f"{type(exc).__name__}: {exc}"))
            continue
        reports.append(TableReport(name, before, after))
    return reports


def _trino_connection(settings: Settings) -> Any:
    import trino.dbapi

    if settings.trino is None:
        raise ValueError("Trino maintenance needs LAKEHOUSE_PROFILE=k8s (TRINO_HOST, ...)")
    return trino.dbapi.connect(
        host=settings.trino.host,
        port=settings.trino.port,
        user=settings.trino.user,
        catalog=settings.trino.catalog,
    )


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
