"""The cluster's maintenance: Trino's Iceberg procedures, one statement per table and step.

The policy (Polaris' applicable policies, ``policy.py``) maps onto Trino 480 (the pinned image)
like this; the procedures' arguments are read from trinodb/trino,
``plugin/trino-iceberg/src/main/java/io/trino/plugin/iceberg/procedure/*TableProcedure.java``,
and ``retain_last`` is new in Trino 479 (``docs/src/main/sphinx/release/release-479.md``:
"Add retain_last and clean_expired_metadata options to expire_snapshots"):

=============================  ==========================================================
policy field (Polaris key)     Trino
=============================  ==========================================================
compact (data-compaction       ``optimize`` runs or not
``enable``)
target_file_size_bytes         session property ``<catalog>.target_max_file_size`` (the
                               writer, optimize's included, rolls files there:
                               ``IcebergSessionProperties.java``), and ``optimize``'s
                               ``file_size_threshold`` = a quarter of it (the project's
                               small-file rule)
min_input_files                none: ``optimize`` rewrites every file under the threshold;
                               not applied, logged once per pass
compact_manifests              ``optimize_manifests`` (no arguments)
(metadata-compaction)
expire_snapshots (``enable``)  ``expire_snapshots`` runs or not
max_snapshot_age               ``expire_snapshots(retention_threshold)``
min_snapshots_to_keep          ``expire_snapshots(retain_last)`` (at least 1; 0 omits it)
max_tag_age,                   none in Trino: the build tags age through the catalog with
min_build_tags_to_keep         pyiceberg first (``expire.age_build_tags``); Iceberg's
                               ``expire_snapshots`` then keeps every tagged snapshot
remove_orphans (``enable``)    ``remove_orphan_files`` runs or not
orphan_min_age                 ``remove_orphan_files(retention_threshold)``
=============================  ==========================================================

The schema fields nothing applies (``locations``, ...) are dropped when the policy is read, with a
warning (``policy.IGNORED_FIELDS``). Trino refuses retention thresholds below
``iceberg.expire-snapshots.min-retention`` / ``iceberg.remove-orphan-files.min-retention`` (7 days
by default); the policy's values are passed as they are and such a refusal fails the step.
Trino cannot be told which snapshots a pending dlt load still needs (``ingestion.pending``): in
the cluster the exactly-once marker is protected by the retention alone, at least 7 days (Trino's
minimum), which a pending load resumed by a later daily run stays well within. The snapshot the
build registry publishes keeps its tag (``age_build_tags``), so Trino's expiry keeps it too.
No Trino can run where this project is developed: the statements are tested as text only.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from pyiceberg.catalog import Catalog

from lakehouse.maintenance.expire import age_build_tags
from lakehouse.maintenance.health import table_health
from lakehouse.maintenance.policy import MaintenancePolicy, PolicyFor
from lakehouse.maintenance.run import TableReport
from lakehouse.maintenance.settings import DEFAULT_TRINO_CATALOG
from lakehouse.maintenance.tables import catalog_tables
from lakehouse.registry import published_snapshots
from lakehouse.settings import Settings

log = logging.getLogger(__name__)

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def maintenance_statements(catalog: str, table: str, policy: MaintenancePolicy) -> list[str]:
    """The statements for ``table`` (``namespace.name``), in order: compact data files, compact
    manifests, expire snapshots, remove orphans."""
    name = ".".join(_quoted(part) for part in [catalog, *table.split(".")])
    statements = []
    if policy.compact:
        # A catalog session property: SET SESSION <catalog>.<property> (unquoted identifiers).
        statements.append(
            f"SET SESSION {_plain(catalog)}.target_max_file_size = "
            f"'{_size(policy.target_file_size_bytes)}'"
        )
        statements.append(
            f"ALTER TABLE {name} EXECUTE optimize(file_size_threshold => "
            f"'{_size(policy.small_file_bytes)}')"
        )
    if policy.compact_manifests:
        statements.append(f"ALTER TABLE {name} EXECUTE optimize_manifests")
    if policy.expire_snapshots:
        retain = (
            f", retain_last => {policy.min_snapshots_to_keep}"
            if policy.min_snapshots_to_keep >= 1
            else ""
        )
        statements.append(
            f"ALTER TABLE {name} EXECUTE expire_snapshots(retention_threshold => "
            f"'{_duration(policy.max_snapshot_age)}'{retain})"
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
    published = published_snapshots(catalog)
    now = datetime.now(UTC)
    reports = []
    unapplied: set[int] = set()
    for name, table in catalog_tables(catalog):
        before = None
        try:
            policy = policy_for(name)
            before = table_health(table, policy)
            if policy.compact:
                unapplied.add(policy.min_input_files)
            # Trino has no tag ageing: it is done through the catalog, before Trino's expiry.
            if policy.expire_snapshots and (
                removed := age_build_tags(table, policy, now, published.get(name))
            ):
                log.info("%s: build tags aged out: %s", name, ", ".join(removed))
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
    if unapplied:
        log.info(
            "min_input_files (%s) not applied: Trino's optimize rewrites every file under the "
            "threshold, with no minimum count",
            ", ".join(str(n) for n in sorted(unapplied)),
        )
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


def _plain(part: str) -> str:
    if not _IDENTIFIER.match(part):
        raise ValueError(f"{part!r} is not a plain identifier; refusing to build SQL with it")
    return part


def _quoted(part: str) -> str:
    return f'"{_plain(part)}"'


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
