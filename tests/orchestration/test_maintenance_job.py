"""The nightly maintenance job and the table-health checks, run by Dagster on the embedded default
over real Iceberg tables in a temporary catalog."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog

from lakehouse.catalog import get_catalog
from lakehouse.maintenance.health import MAX_SMALL_FILES
from lakehouse.maintenance.policy import DEFAULT_POLICY
from lakehouse.settings import Settings
from orchestration.defs.maintenance.checks import CHECK_NAME, health_result
from orchestration.defs.maintenance.job import table_maintenance_job
from orchestration.resources import build_resources

DAYS = 12  # over DEFAULT_POLICY.min_input_files small files: compaction is due
SCHEMA = pa.schema([pa.field("id", pa.int64(), nullable=False)])


def load_daily(catalog: Catalog, identifier: str, days: int = DAYS) -> None:
    namespace = identifier.split(".")[0]
    if (namespace,) not in catalog.list_namespaces():
        catalog.create_namespace(namespace)
    table = catalog.create_table(identifier, schema=SCHEMA)
    for day in range(days):
        table.append(pa.table({"id": [day * 10 + i for i in range(10)]}, schema=SCHEMA))


@pytest.fixture
def catalog(lakehouse_env: Settings) -> Catalog:
    return get_catalog(lakehouse_env)


def run_job() -> dg.ExecuteInProcessResult:
    return table_maintenance_job.execute_in_process(
        resources=build_resources(), raise_on_error=False
    )


def test_job_compacts_every_table_and_records_health(catalog: Catalog) -> None:
    load_daily(catalog, "raw.orders")
    load_daily(catalog, "gold.daily_revenue")  # found in the catalog, not listed anywhere

    result = run_job()

    assert result.success
    observed = {
        o.asset_key.to_user_string(): o.metadata
        for o in result.asset_observations_for_node("maintain_iceberg_tables")
    }
    # raw.orders is observed on its asset, raw/shop_orders
    tables = {"raw/shop_orders": "raw.orders", "gold/daily_revenue": "gold.daily_revenue"}
    assert set(observed) == set(tables)
    for name, metadata in observed.items():
        assert metadata["data_files_before"].value == DAYS, name
        assert metadata["data_files_after"].value == 1, name
        assert metadata["records_after"].value == DAYS * 10, name
        assert metadata["snapshots_after"].value == DAYS + 2, name  # young: none expired yet
        table = catalog.load_table(tables[name])
        ids = sorted(table.scan().to_arrow()["id"].to_pylist())
        assert ids == sorted(day * 10 + i for day in range(DAYS) for i in range(10)), name


def test_a_broken_table_fails_the_run_after_the_others_are_maintained(catalog: Catalog) -> None:
    load_daily(catalog, "raw.orders")
    load_daily(catalog, "raw.payments")
    broken = catalog.load_table("raw.payments")
    lost = next(iter(broken.scan().plan_files())).file.file_path
    Path(lost.removeprefix("file://")).unlink()  # a data file gone from the disk

    result = run_job()

    assert not result.success
    failure = result.failure_data_for_node("maintain_iceberg_tables").error
    assert "maintenance failed on 1 of 2 table(s)" in failure.message
    assert "raw.payments: FAILED" in failure.message
    assert len(list(catalog.load_table("raw.orders").scan().plan_files())) == 1
    assert len(list(catalog.load_table("raw.payments").scan().plan_files())) == DAYS  # as it was


def test_health_check_warns_on_too_many_small_files(catalog: Catalog) -> None:
    load_daily(catalog, "raw.orders", days=MAX_SMALL_FILES + 1)
    key = dg.AssetKey(["raw", "shop_orders"])  # the asset of raw.orders

    result = health_result(catalog, key, lambda _: DEFAULT_POLICY)

    assert not result.passed and result.severity is dg.AssetCheckSeverity.WARN
    assert result.check_name == CHECK_NAME
    assert f"{MAX_SMALL_FILES + 1} small data files" in result.description
    assert result.metadata["data_files"].value == MAX_SMALL_FILES + 1
    assert result.metadata["snapshots"].value == MAX_SMALL_FILES + 1
    size = sum(
        t.file.file_size_in_bytes for t in catalog.load_table("raw.orders").scan().plan_files()
    )
    assert result.metadata["data_bytes"].value == size
    assert result.metadata["mean_file_bytes"].value == size // (MAX_SMALL_FILES + 1)


def test_health_check_passes_where_there_is_no_iceberg_table(catalog: Catalog) -> None:
    result = health_result(catalog, dg.AssetKey(["gold", "fct_orders"]), lambda _: DEFAULT_POLICY)
    assert result.passed and result.metadata["iceberg_table"].value is False


def test_health_checks_run_with_the_build_of_their_asset(defs) -> None:
    graph = defs.resolve_asset_graph()
    checked = {
        k.to_user_string()
        for k in graph.get_all_asset_keys()
        if any(c.name == CHECK_NAME for c in graph.get(k).check_keys)
    }
    assert {"raw/shop_orders", "silver/dim_customer", "gold/fct_orders"} <= checked
    assert not any(k.startswith("bronze/") for k in checked)  # views: no files of their own
    job = defs.resolve_job_def("lakehouse_job")
    assert (
        dg.AssetCheckKey(dg.AssetKey(["raw", "shop_orders"]), CHECK_NAME)
        in job.asset_layer.asset_graph.asset_check_keys
    )


def test_nightly_schedule_runs_the_maintenance_job(defs) -> None:
    schedule = defs.resolve_schedule_def("nightly_maintenance_schedule")
    assert schedule.job_name == "table_maintenance_job"
    assert schedule.cron_schedule == "30 4 * * *" and schedule.execution_timezone == "UTC"
