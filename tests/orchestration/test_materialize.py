"""Materialize the whole graph on the embedded default and check what it built.

Expected figures are computed here, independently of the dbt models: from the raw Iceberg tables
(pyiceberg + DuckDB SQL written in this file) and from the source's own output.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from datetime import date, timedelta

import dagster as dg
import duckdb
import pyarrow as pa
import pytest

from ingestion.shop.generator import ShopSimulator
from ingestion.shop.settings import START_DATE
from lakehouse.catalog import get_catalog
from lakehouse.engine import connect
from lakehouse.inventory import layer_row_counts
from lakehouse.layers import Layer
from lakehouse.settings import Settings
from orchestration.defs.dbt.inputs import INPUTS_KEY
from orchestration.defs.metadata import raw_asset_key
from tests.orchestration.conftest import embedded_lakehouse

pytestmark = pytest.mark.slow

FIRST = date(2024, 1, 1)
DAYS = [FIRST + timedelta(days=n) for n in range(3)]
RAW_TABLES = ("customers", "products", "orders", "order_items", "payments")


def run_job(defs, instance, *, day: date | None = None, days: list[date] | None = None):
    job = defs.resolve_job_def("lakehouse_job")
    if days:  # a backfill of a range runs as one run (single-run backfill policy)
        tags = {
            "dagster/asset_partition_range_start": days[0].isoformat(),
            "dagster/asset_partition_range_end": days[-1].isoformat(),
        }
        result = job.execute_in_process(instance=instance, tags=tags)
    else:
        result = job.execute_in_process(instance=instance, partition_key=day.isoformat())
    assert result.success
    return result


def raw_table(settings: Settings, name: str) -> pa.Table:
    return get_catalog(settings).load_table(f"raw.{name}").scan().to_arrow()


def source_rows_per_day(days: list[date]) -> dict[str, Counter]:
    """What the source delivers for each date, counted from its simulator (no dlt, no catalog)."""
    simulator = ShopSimulator(seed=42, scale_factor=1.0, start_date=START_DATE)
    return {t: Counter({day: simulator.read(t, day).num_rows for day in days}) for t in RAW_TABLES}


def rows_per_arrival_date(table: pa.Table) -> Counter:
    con = duckdb.connect()
    con.register("t", table)
    rows = con.execute(
        "select cast(_arrived_at at time zone 'UTC' as date), count(*) from t group by 1"
    ).fetchall()
    return Counter(dict(rows))


def content_hash(table: pa.Table, drop: tuple[str, ...] = ("_dlt_load_id",)) -> str:
    keep = [c for c in table.column_names if c not in drop]
    con = duckdb.connect()
    con.register("t", table.select(keep))
    rows = con.execute(f"select * from t order by {', '.join(keep)}").fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def expected_daily_revenue(settings: Settings) -> list[tuple]:
    """Net revenue per order date from raw: dedup lines, latest order status, no cancelled."""
    con = duckdb.connect()
    for name in ("orders", "order_items"):
        con.register(name, raw_table(settings, name))
    return con.execute(
        """
        with latest as (
            select order_id, status, cast(ordered_at at time zone 'UTC' as date) as order_date
            from orders
            qualify row_number() over (partition by order_id order by updated_at desc) = 1
        ),
        lines as (
            select distinct order_item_id, order_id, quantity, unit_price, discount_amount
            from order_items
        )
        select latest.order_date, count(distinct latest.order_id),
               sum(lines.quantity * lines.unit_price - lines.discount_amount)
        from latest join lines using (order_id)
        where latest.status <> 'cancelled'
        group by 1 order by 1
        """
    ).fetchall()


def gold(settings: Settings, sql: str) -> list[tuple]:
    conn = connect(settings.duckdb_path, get_catalog(settings))
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def backfilled(defs, tmp_path_factory):
    """Three business dates backfilled as one run, in a temporary data folder."""
    with embedded_lakehouse(tmp_path_factory, "lakehouse") as (settings, instance):
        run_job(defs, instance, days=DAYS)
        yield settings, instance


def test_backfill_loads_each_business_date_exactly_once(backfilled):
    settings, _ = backfilled
    expected = source_rows_per_day(DAYS)
    for name in RAW_TABLES:
        assert rows_per_arrival_date(raw_table(settings, name)) == expected[name], name


def test_backfill_loads_its_dates_in_groups_of_loads(backfilled):
    settings, instance = backfilled
    expected = source_rows_per_day(DAYS)
    # The first date is loaded alone (it measures rows per date), the other two together:
    # an append table gets one snapshot per load.
    snapshots = get_catalog(settings).load_table("raw.order_items").snapshots()
    assert len(snapshots) == 2
    for name in RAW_TABLES:
        event = instance.get_latest_materialization_event(raw_asset_key(name))
        metadata = event.asset_materialization.metadata
        assert metadata["rows_loaded"].value == sum(expected[name].values()), name
        assert metadata["business_dates"].value == f"{DAYS[0]}..{DAYS[-1]}"


def test_gold_matches_an_independent_computation_from_raw(backfilled):
    settings, _ = backfilled
    expected = expected_daily_revenue(settings)
    actual = gold(
        settings, "select order_date, orders, net_revenue from gold.daily_revenue order by 1"
    )
    assert len(actual) >= len(DAYS)
    assert actual == expected
    # the fact table holds every order once, whatever its status
    orders = raw_table(settings, "orders")
    distinct_orders = len(set(orders.column("order_id").to_pylist()))
    assert gold(settings, "select count(*), count(distinct order_id) from gold.fct_orders") == [
        (distinct_orders, distinct_orders)
    ]


def test_every_layer_has_rows(backfilled):
    settings, _ = backfilled
    conn = connect(settings.duckdb_path, get_catalog(settings))
    try:
        counts = layer_row_counts(get_catalog(settings), conn)
    finally:
        conn.close()
    for layer in Layer:
        assert counts[layer] and all(n > 0 for n in counts[layer].values()), layer


def test_every_dbt_model_materialization_carries_its_row_count(defs, backfilled):
    """dagster/row_count of each model's latest materialization (tables, incremental models and
    views alike) equals a count(*) of what dbt built, taken here on a connection of its own."""
    settings, instance = backfilled
    graph = defs.resolve_asset_graph()
    models = [
        key
        for key in graph.get_all_asset_keys()
        if graph.get(key).group_name in {Layer.BRONZE.value, Layer.SILVER.value, Layer.GOLD.value}
    ]
    assert len(models) > 15
    conn = connect(settings.duckdb_path, get_catalog(settings))
    try:
        for key in models:
            layer, name = key.path
            expected = conn.execute(f'select count(*) from {layer}."{name}"').fetchone()[0]
            event = instance.get_latest_materialization_event(key)
            assert event is not None, key
            metadata = event.asset_materialization.metadata
            assert metadata["dagster/row_count"].value == expected, key
    finally:
        conn.close()


def test_rerun_duplicates_nothing_and_next_day_adds_exactly_one_day(defs, backfilled):
    settings, instance = backfilled
    before = {name: content_hash(raw_table(settings, name)) for name in RAW_TABLES}
    revenue_before = gold(settings, "select * from gold.daily_revenue order by 1")

    again = run_job(defs, instance, days=DAYS)  # the same backfill again
    rerun = run_job(defs, instance, day=DAYS[1])  # and one of its dates on its own

    assert {name: content_hash(raw_table(settings, name)) for name in RAW_TABLES} == before
    assert gold(settings, "select * from gold.daily_revenue order by 1") == revenue_before
    # The same dates on the same raw snapshots and project: the partitioned step (the incremental
    # models, the views and dim_date they read) is not built again, nor the marts after it.
    incremental = incremental_keys(defs)
    assert dbt_built(again) == set()
    assert dbt_built(rerun) == set()
    for result in (again, rerun):
        # Nothing claims a model was built or a test passed: no check of what was not built is
        # evaluated, which Dagster resolves as skipped once the run succeeds (dagster 1.13.27,
        # dagster/_core/storage/asset_check_execution_record.py: AssetCheckExecutionResolvedStatus).
        evaluated = {c.asset_key for c in result.get_asset_check_evaluations()}
        assert not evaluated & (incremental | MART_KEYS)
    # The record the skip relies on is the instance's: the backfill's materialization, which
    # says what it was built on.
    for key in incremental:
        event = instance.get_latest_materialization_event(key)
        assert event.run_id not in {again.run_id, rerun.run_id}
        assert INPUTS_KEY in event.asset_materialization.metadata

    next_day = DAYS[-1] + timedelta(days=1)
    # Its raw data and views first, on their own: the whole graph then finds the views of the
    # date built on the same inputs, but not the incremental models, so it builds the whole step.
    partition = next_day.isoformat()
    assert (
        defs.resolve_job_def("raw_job")
        .execute_in_process(instance=instance, partition_key=partition)
        .success
    )
    views = defs.resolve_job_def("lakehouse_job").execute_in_process(
        instance=instance, partition_key=partition, asset_selection=[*BRONZE_KEYS, DIM_DATE]
    )
    assert dbt_built(views) == {*BRONZE_KEYS, DIM_DATE}
    next_run = run_job(defs, instance, day=next_day)
    # new raw snapshots, and incremental models never built for this date: every model is built
    assert dbt_built(next_run) == {*BRONZE_KEYS, *incremental, *MART_KEYS, DIM_DATE}
    expected = source_rows_per_day([*DAYS, next_day])
    for name in RAW_TABLES:
        assert rows_per_arrival_date(raw_table(settings, name)) == expected[name], name
    assert gold(settings, "select max(order_date) from gold.daily_revenue") == [(next_day,)]


def test_forced_build_runs_dbt_even_with_unchanged_inputs(defs, backfilled):
    _, instance = backfilled
    job = defs.resolve_job_def("gold_job")
    config = {"ops": {"incremental_dbt_assets": {"config": {"force": True}}}}
    result = job.execute_in_process(
        instance=instance, partition_key=DAYS[0].isoformat(), run_config=config
    )
    assert result.success
    gold_keys = {k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.path[0] == "gold"}
    assert dbt_built(result) == gold_keys
    # The whole graph twice for one date: forced, the second builds the step again, the views
    # and dim_date in it too.
    run_job(defs, instance, day=DAYS[0])
    forced = defs.resolve_job_def("lakehouse_job").execute_in_process(
        instance=instance, partition_key=DAYS[0].isoformat(), run_config=config
    )
    assert forced.success
    assert dbt_built(forced) >= {*BRONZE_KEYS, DIM_DATE, *incremental_keys(defs)}


BRONZE_KEYS = {
    dg.AssetKey(["bronze", f"stg_{t}"])
    for t in ("customers", "orders", "order_items", "payments", "products")
}
DIM_DATE = dg.AssetKey(["silver", "dim_date"])
MART_KEYS = {
    dg.AssetKey(["gold", name])
    for name in (
        "daily_revenue",
        "customer_cohorts",
        "customer_lifetime_value",
        "product_performance",
        "ml_customer_features",
    )
}


def incremental_keys(defs) -> set[dg.AssetKey]:
    """The partitioned dbt models, read from the dbt project (materialized='incremental')."""
    from orchestration.defs.dbt.project import dbt_project_manifest

    return {
        dg.AssetKey([node["config"]["schema"], node["name"]])
        for node in dbt_project_manifest()["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"
    }


def dbt_built(result) -> set[dg.AssetKey]:
    """The dbt models a run materialized."""
    return {
        event.asset_key
        for event in result.get_asset_materialization_events()
        if event.asset_key.path[0] in {"bronze", "silver", "gold"}
    }


def test_each_run_builds_its_own_window_of_dates(defs, tmp_path, monkeypatch):
    """Raw rows loaded without a dbt build must be built by their own date's run, not before.

    Date 3 reaches raw first (raw_job), then date 2 runs the whole graph, then date 3 does. The
    date-2 build must process date 2 only (the partition window reaches dbt; without it the
    incremental models take everything that arrived after their latest row, date 3 included),
    and the date-3 run must build although raw did not change since the date-2 build.
    """
    monkeypatch.setenv("LAKEHOUSE_PROFILE", "local")
    monkeypatch.setenv("LAKEHOUSE_DATA_DIR", str(tmp_path / "data"))
    settings = Settings.from_env()
    latest_order_date = "select max(order_date) from gold.daily_revenue"
    with dg.instance_for_test() as instance:
        run_job(defs, instance, day=DAYS[0])
        raw_only = defs.resolve_job_def("raw_job").execute_in_process(
            instance=instance, partition_key=DAYS[2].isoformat()
        )
        assert raw_only.success
        run_job(defs, instance, day=DAYS[1])
        assert gold(settings, latest_order_date) == [(DAYS[1],)]
        last = run_job(defs, instance, day=DAYS[2])
    assert incremental_keys(defs) <= dbt_built(last)
    assert gold(settings, latest_order_date) == [(DAYS[2],)]
    expected = expected_daily_revenue(settings)
    assert (
        gold(settings, "select order_date, orders, net_revenue from gold.daily_revenue order by 1")
        == expected
    )
