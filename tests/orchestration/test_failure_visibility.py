"""Failure visibility: retries of the dlt assets, the run-failure sensor, raw table checks.

Runs are real Dagster runs of the project's assets on the embedded default (a temporary folder).
"""

from __future__ import annotations

import errno
from datetime import timedelta

import dagster as dg
import pyarrow as pa
import pytest
from pyiceberg.exceptions import CommitFailedException

from ingestion.landing import QUARANTINE_SCHEMA
from ingestion.pipeline import make_pipeline
from ingestion.shop import TABLES, shop
from ingestion.shop.generator import ShopSimulator
from ingestion.shop.settings import START_DATE
from lakehouse.catalog import get_catalog
from lakehouse.settings import Settings
from orchestration.defs.dlt.assets import build_shop_assets
from orchestration.defs.dlt.retries import is_transient
from orchestration.defs.metadata import table_name
from orchestration.defs.monitoring.checks import (
    CHECK_NAME,
    build_raw_table_checks,
    quarantined_by_table,
    table_health,
)
from orchestration.defs.monitoring.sensors import lakehouse_run_failure_sensor, recorded_failures
from orchestration.resources import build_resources

SCALE_FACTOR = 0.2


# --- retries -------------------------------------------------------------------------------------
def _chained(outer: Exception, inner: BaseException) -> Exception:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except Exception as chained:
        return chained


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
        TimeoutError("read timed out"),
        OSError(errno.ECONNRESET, "reset by peer"),
        CommitFailedException("another writer won"),
        _chained(RuntimeError("pipeline step failed"), ConnectionResetError("reset")),
    ],
)
def test_transient_errors_are_retried(exc: Exception) -> None:
    assert is_transient(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("scale_factor must be a positive number"),
        KeyError("column"),
        OSError(errno.ENOSPC, "no space left"),
        _chained(RuntimeError("pipeline step failed"), TypeError("bad hint")),
    ],
)
def test_permanent_errors_fail_at_once(exc: Exception) -> None:
    assert not is_transient(exc)


# --- a real failed run, seen by the sensor --------------------------------------------------------
def test_failed_run_is_recorded_with_next_steps(lakehouse_env: Settings) -> None:
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [build_shop_assets()],
            partition_key=START_DATE.isoformat(),
            resources=build_resources(),
            run_config={"ops": {"shop": {"config": {"scale_factor": -1.0}}}},
            instance=instance,
            raise_on_error=False,
        )
        assert not result.success
        # Not transient: failed on the first attempt, no retry.
        assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
        run = instance.get_run_by_id(result.run_id)
        (failure,) = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        context = dg.build_run_status_sensor_context(
            sensor_name=lakehouse_run_failure_sensor.name,
            dagster_event=failure.dagster_event,
            dagster_instance=instance,
            dagster_run=run,
        ).for_run_failure()
        lakehouse_run_failure_sensor(context)
        # Kept in the instance (Postgres in the cluster), not in a pod-local file (issue 12, 6).
        (record,) = recorded_failures(instance)
    assert not (lakehouse_env.data_dir / "ops" / "run_failures.jsonl").exists()
    assert record["run_id"] == result.run_id
    assert record["partition"] == START_DATE.isoformat()
    assert record["failed_steps"] == ["shop"]
    assert record["error"] == "ValueError: scale_factor must be a positive number, got -1.0"
    assert record["next_steps"].startswith("ingestion failed")


# --- raw table checks ---------------------------------------------------------------------------
@pytest.fixture
def loaded(lakehouse_env: Settings) -> Settings:
    make_pipeline(lakehouse_env).run(shop(START_DATE, scale_factor=SCALE_FACTOR))
    return lakehouse_env


def test_checks_report_row_counts_and_freshness(loaded: Settings) -> None:
    catalog = get_catalog(loaded)
    simulator = ShopSimulator(scale_factor=SCALE_FACTOR)
    for table in TABLES:
        result = table_health(catalog, table)
        assert result.passed, result.description
        assert result.metadata["row_count"].value == simulator.read(table, START_DATE).num_rows
        assert "quarantined_rows" not in result.metadata  # shop tables are never quarantined
        assert result.metadata["hours_since_last_load"].value < 1
    # Two days later the same table is stale: a warning that says why.
    later = table_health(catalog, "orders", now=_now() + timedelta(days=2).total_seconds())
    assert not later.passed and later.severity is dg.AssetCheckSeverity.WARN
    assert "last loaded 48 h ago" in later.description
    missing = table_health(catalog, "refunds")
    assert not missing.passed and missing.metadata["row_count"].value == 0
    assert missing.severity is dg.AssetCheckSeverity.ERROR
    # A landed table nobody sent files for yet only warns: a date with nothing landed is normal.
    not_landed = table_health(catalog, "partners_stores", quarantined=0)
    assert not not_landed.passed and not_landed.severity is dg.AssetCheckSeverity.WARN
    assert not_landed.description.startswith("nothing landed in raw.partners_stores yet")


def test_quarantined_rows_of_a_landed_table_show_in_its_check(loaded: Settings) -> None:
    catalog = get_catalog(loaded)
    rows = [
        {
            "source": "acme",
            "table_name": "orders",
            "ingest_date": "2024-01-01",
            "file": "f.csv",
            "line": n,
            "reason": "bad",
            "record": None,
            "quarantined_at": pa.scalar(0, pa.timestamp("us", tz="UTC")).as_py(),
        }
        for n in (1, 2)
    ]
    table = catalog.create_table("raw.quarantine", schema=QUARANTINE_SCHEMA)
    table.append(pa.Table.from_pylist(rows, schema=QUARANTINE_SCHEMA))
    catalog.create_table("raw.acme_orders", schema=pa.schema([pa.field("id", pa.int64())])).append(
        pa.table({"id": pa.array([1], pa.int64())})
    )
    counts = quarantined_by_table(catalog)
    assert counts == {"acme_orders": 2}
    result = table_health(catalog, "acme_orders", quarantined=counts["acme_orders"])
    assert result.metadata["quarantined_rows"].value == 2 and not result.passed
    assert "2 row(s) quarantined" in result.description


def test_checks_run_with_the_raw_assets(lakehouse_env: Settings) -> None:
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [build_shop_assets(), build_raw_table_checks(landed=())],
            partition_key=START_DATE.isoformat(),
            resources=build_resources(),
            run_config={"ops": {"shop": {"config": {"scale_factor": SCALE_FACTOR}}}},
            instance=instance,
        )
    evaluations = result.get_asset_check_evaluations()
    assert {table_name(e.asset_key) for e in evaluations} == set(TABLES)
    assert all(e.passed and e.check_name == CHECK_NAME for e in evaluations)


def _now() -> float:
    import time

    return time.time()
