"""The cluster's maintenance statements (Trino's Iceberg procedures). Static: no Trino server can
run where this project is developed, so the statements are checked as text against the forms of
Trino's Iceberg connector documentation (``ALTER TABLE ... EXECUTE optimize /
expire_snapshots / remove_orphan_files``), and the loop over tables with a recording connection."""

from __future__ import annotations

from datetime import timedelta

import pyarrow as pa
import pytest

from lakehouse.catalog import get_catalog
from lakehouse.maintenance.policy import DEFAULT_POLICY, MaintenancePolicy
from lakehouse.maintenance.trino import maintain_with_trino, maintenance_statements
from lakehouse.settings import Settings


def test_statements_follow_the_policy() -> None:
    assert maintenance_statements("iceberg", "gold.fct_orders", DEFAULT_POLICY) == [
        'ALTER TABLE "iceberg"."gold"."fct_orders" EXECUTE optimize(file_size_threshold => \'32MB\')',
        'ALTER TABLE "iceberg"."gold"."fct_orders" EXECUTE expire_snapshots(retention_threshold => \'7d\')',
        'ALTER TABLE "iceberg"."gold"."fct_orders" EXECUTE remove_orphan_files(retention_threshold => \'3d\')',
    ]
    policy = MaintenancePolicy(
        compact=False, max_snapshot_age=timedelta(hours=36), remove_orphans=False
    )
    assert maintenance_statements("iceberg", "raw.orders", policy) == [
        'ALTER TABLE "iceberg"."raw"."orders" EXECUTE expire_snapshots(retention_threshold => \'36h\')'
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
    connection = RecordingConnection(refuse='"raw"."orders"')

    reports = maintain_with_trino(
        lakehouse_env, catalog, lambda _: DEFAULT_POLICY, connect=lambda: connection
    )

    by_name = {r.table: r for r in reports}
    assert by_name["raw.orders"].error == "RuntimeError: simulated Trino refusal"
    assert by_name["silver.orders"].error is None
    assert by_name["silver.orders"].after.data_files == 1
    # No Trino settings on the embedded profile: the maintenance catalog's default name.
    assert connection.statements == maintenance_statements(
        "iceberg_maintenance", "silver.orders", DEFAULT_POLICY
    )
