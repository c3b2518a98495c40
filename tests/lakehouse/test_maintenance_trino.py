"""The cluster's maintenance statements (Trino's Iceberg procedures). Static: no Trino server can
run where this project is developed, so the statements are checked as text against the arguments
of Trino 480's table procedures (trinodb/trino, ``plugin/trino-iceberg/src/main/java/io/trino/
plugin/iceberg/procedure/{Optimize,OptimizeManifests,ExpireSnapshots,RemoveOrphanFiles}
TableProcedure.java``; ``retain_last`` since release 479), and the loop over tables with a
recording connection."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import pyarrow as pa
import pytest

from lakehouse.catalog import get_catalog
from lakehouse.maintenance.policy import (
    DATA_COMPACTION,
    DEFAULT_POLICY,
    METADATA_COMPACTION,
    ORPHAN_FILE_REMOVAL,
    SNAPSHOT_EXPIRY,
    MaintenancePolicy,
    from_applicable,
)
from lakehouse.maintenance.trino import maintain_with_trino, maintenance_statements
from lakehouse.settings import Settings


def test_statements_follow_the_policy() -> None:
    table = '"iceberg"."gold"."fct_orders"'
    assert maintenance_statements("iceberg", "gold.fct_orders", DEFAULT_POLICY) == [
        "SET SESSION iceberg.target_max_file_size = '128MB'",
        f"ALTER TABLE {table} EXECUTE optimize(file_size_threshold => '32MB')",
        f"ALTER TABLE {table} EXECUTE optimize_manifests",
        f"ALTER TABLE {table} EXECUTE expire_snapshots(retention_threshold => '7d', retain_last => 5)",
        f"ALTER TABLE {table} EXECUTE remove_orphan_files(retention_threshold => '3d')",
    ]
    policy = MaintenancePolicy(
        compact=False,
        compact_manifests=False,
        max_snapshot_age=timedelta(hours=36),
        min_snapshots_to_keep=0,  # Trino's retain_last must be at least 1: left out
        remove_orphans=False,
    )
    assert maintenance_statements("iceberg", "raw.orders", policy) == [
        'ALTER TABLE "iceberg"."raw"."orders" EXECUTE expire_snapshots(retention_threshold => \'36h\')'
    ]


def test_every_polaris_field_with_a_trino_equivalent_reaches_the_statements() -> None:
    """A policy read from Polaris content (the 1.7.0 schemas' keys) changes each statement that
    has a Trino equivalent: target size (session property), small-file threshold, manifest
    compaction, retention and retain_last, orphan age."""
    contents = {
        DATA_COMPACTION: {"enable": True, "config": {"target_file_size_bytes": 64 * 1024 * 1024}},
        METADATA_COMPACTION: {"enable": False},
        SNAPSHOT_EXPIRY: {
            "enable": True,
            "config": {"max_snapshot_age_days": 10, "min_snapshot_to_keep": 12},
        },
        ORPHAN_FILE_REMOVAL: {"enable": True, "max_orphan_file_age_in_days": 8},
    }
    policy = from_applicable(
        [{"policy-type": k, "name": k, "content": json.dumps(c)} for k, c in contents.items()]
    )
    table = '"iceberg_maintenance"."silver"."orders"'
    assert maintenance_statements("iceberg_maintenance", "silver.orders", policy) == [
        "SET SESSION iceberg_maintenance.target_max_file_size = '64MB'",
        f"ALTER TABLE {table} EXECUTE optimize(file_size_threshold => '16MB')",
        f"ALTER TABLE {table} EXECUTE expire_snapshots(retention_threshold => '10d', retain_last => 12)",
        f"ALTER TABLE {table} EXECUTE remove_orphan_files(retention_threshold => '8d')",
    ]


@pytest.mark.parametrize("table", ['raw.orders"; DROP TABLE x; --', "raw.or ders", "raw."])
def test_names_that_are_not_plain_identifiers_are_refused(table: str) -> None:
    with pytest.raises(ValueError, match="not a plain identifier"):
        maintenance_statements("iceberg", table, DEFAULT_POLICY)


class RecordingConnection:
    """Records statements; fails the ones naming ``refuse`` (as Trino would, e.g. a retention
    under its minimum)."""

    def __init__(self, refuse: str) -> None:
        self.statements: list[str] = []
        self.refuse = refuse

    def cursor(self) -> RecordingConnection:
        return self

    def execute(self, statement: str) -> None:
        if self.refuse in statement:
            raise RuntimeError("simulated Trino refusal")
        self.statements.append(statement)

    def fetchall(self) -> list:
        return []


def test_every_catalog_table_gets_its_statements_and_a_failure_stays_its_own(
    lakehouse_env: Settings,
) -> None:
    catalog = get_catalog(lakehouse_env)
    schema = pa.schema([pa.field("id", pa.int64())])
    for namespace, name in (("raw", "orders"), ("silver", "orders")):
        catalog.create_namespace(namespace)
        catalog.create_table(f"{namespace}.{name}", schema=schema).append(
            pa.table({"id": [1]}, schema=schema)
        )
    silver = catalog.load_table("silver.orders")
    silver.manage_snapshots().create_tag(silver.current_snapshot().snapshot_id, "build-x").commit()
    # Every build tag is past its age and none is kept by count: Trino cannot remove tags, so the
    # pass removes it through the catalog before Trino's expiry.
    policy = replace(DEFAULT_POLICY, max_tag_age=timedelta(0), min_build_tags_to_keep=0)
    connection = RecordingConnection(refuse='"raw"."orders"')

    reports = maintain_with_trino(
        lakehouse_env, catalog, lambda _: policy, connect=lambda: connection
    )

    by_name = {r.table: r for r in reports}
    assert by_name["raw.orders"].error == "RuntimeError: simulated Trino refusal"
    assert by_name["silver.orders"].error is None
    assert by_name["silver.orders"].after.data_files == 1
    assert "build-x" not in catalog.load_table("silver.orders").refs()
    # No Trino settings on the embedded profile: the maintenance catalog's default name. The
    # refused table stopped at its first ALTER TABLE (after its session property).
    raw = maintenance_statements("iceberg_maintenance", "raw.orders", policy)
    assert raw[0].startswith("SET SESSION")
    assert connection.statements == raw[:1] + maintenance_statements(
        "iceberg_maintenance", "silver.orders", policy
    )
