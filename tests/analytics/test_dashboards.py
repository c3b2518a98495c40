"""Every chart of the imported bundle, read through Superset's chart-data API, shows the figures
that this test computes on its own from the published gold Iceberg tables.

The expected figures are written here in plain SQL over ``lakehouse.read`` (pyiceberg, the
published build) or from pyiceberg and Dagster directly, never from the datasets' SQL. The API
(``GET /api/v1/chart/<id>/data/``, Superset 6.1.0 ``superset/charts/data/api.py``) runs the
chart's saved query context and returns temporal columns as epoch milliseconds and decimals as
floats, so expected rows are brought to that form.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import dagster as dg
import duckdb
import pytest

from analytics import bundle, server
from lakehouse.catalog import get_catalog, layer_tables
from lakehouse.layers import Layer
from lakehouse.reading import read
from tests.analytics.conftest import RunningSuperset, environment

pytestmark = pytest.mark.superset

Rows = list[dict[str, Any]]


def gold_sql(superset: RunningSuperset, sql: str) -> Rows:
    """``sql`` over the published gold tables, each registered by its own name."""
    conn = duckdb.connect()
    for name in layer_tables(get_catalog(superset.settings), Layer.GOLD):
        conn.register(name, read(f"gold.{name}", settings=superset.settings))
    result = conn.execute(sql)
    names = [column[0] for column in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def table_rows(superset: RunningSuperset) -> Rows:
    """Rows per table of raw (current), silver and gold (published), counted by scanning them."""
    catalog = get_catalog(superset.settings)
    rows = []
    for layer in (Layer.RAW, Layer.SILVER, Layer.GOLD):
        for name, table in layer_tables(catalog, layer).items():
            if layer is Layer.RAW:
                count = table.scan().to_arrow().num_rows if table.current_snapshot() else 0
            else:
                count = read(f"{layer}.{name}", settings=superset.settings).num_rows
            rows.append({"layer": layer.value, "table_name": name, "row_count": count})
    return rows


def quarantine_rows(superset: RunningSuperset) -> Rows:
    table = layer_tables(get_catalog(superset.settings), Layer.RAW).get("quarantine")
    if table is None or table.current_snapshot() is None:
        return []
    counts: dict[tuple, int] = {}
    for row in table.scan().to_arrow().to_pylist():
        key = (row["source"], row["table_name"], row["reason"])
        counts[key] = counts.get(key, 0) + 1
    return [
        {"source": s, "table_name": t, "reason": r, "total_quarantined_rows": n}
        for (s, t, r), n in sorted(counts.items(), key=lambda item: -item[1])
    ]


def last_runs(superset: RunningSuperset) -> Rows:
    """The newest run of each job that had ended when the data-health assets measured (in the
    demo's last lakehouse_job run, so that run itself and the ml_job after it are not shown)."""
    newest: dict[str, dg.RunRecord] = {}
    with environment(superset.env), dg.DagsterInstance.get() as instance:
        measured = instance.get_latest_materialization_event(dg.AssetKey(["health", "last_runs"]))
        assert measured is not None, "the demo did not write health.last_runs"
        for record in instance.get_run_records():  # newest first
            if record.end_time and record.end_time < measured.timestamp:
                newest.setdefault(record.dagster_run.job_name, record)
    return [
        {"job_name": job, "status": r.dagster_run.status.value, "run_id": r.dagster_run.run_id}
        for job, r in sorted(newest.items())
    ]


def by_layer(superset: RunningSuperset) -> Rows:
    totals: dict[str, int] = {}
    for row in table_rows(superset):
        totals[row["layer"]] = totals.get(row["layer"], 0) + row["row_count"]
    return [{"layer": layer, "rows": rows} for layer, rows in totals.items()]


def sql(query: str) -> Callable[[RunningSuperset], Rows]:
    return lambda superset: gold_sql(superset, query)


BILLABLE_LINES = (
    "select lines.*, products.category from fct_order_items lines "
    "join product_performance products using (product_id) where lines.status != 'cancelled'"
)
PRODUCTS_BY_REVENUE = (
    "select sku, product_name, category, net_revenue as total_net_revenue "
    "from product_performance order by net_revenue {direction}"
)

# dashboard/chart -> the chart's rows computed independently.
EXPECTED: dict[str, Callable[[RunningSuperset], Rows]] = {
    "revenue/total_net_revenue": sql(
        "select sum(net_revenue) as total_net_revenue from daily_revenue"
    ),
    "revenue/revenue_trend": sql(
        "select order_date, net_revenue as total_net_revenue, "
        "gross_revenue as total_gross_revenue from daily_revenue order by 1"
    ),
    "revenue/daily_revenue": sql(
        "select order_date, orders, units, gross_revenue, discount_amount, net_revenue "
        "from daily_revenue order by order_date"
    ),
    "revenue/revenue_by_category": sql(
        f"select category, sum(net_amount) as total_net_revenue from ({BILLABLE_LINES}) group by 1"
    ),
    "customers/cohort_retention": sql(
        "select cohort_month, months_since_first_order, cohort_size, active_customers, "
        "active_customers / cohort_size as retention_rate from customer_cohorts order by 1"
    ),
    "customers/lifetime_value_distribution": sql(
        "select 100 * cast(floor(lifetime_value / 100) as int) as value_band, "
        "count(customer_id) as customers from customer_lifetime_value group by 1"
    ),
    "customers/average_lifetime_value": sql(
        "select sum(lifetime_value) / count(*) as average_lifetime_value "
        "from customer_lifetime_value"
    ),
    "customers/lifetime_value_by_segment": sql(
        "select segment, sum(lifetime_value) as total_lifetime_value "
        "from customer_lifetime_value group by segment"
    ),
    "products/product_performance": sql(
        "select sku, product_name, category, current_unit_price, order_count, unit_count, "
        "net_revenue from product_performance order by net_revenue desc"
    ),
    "products/top_products": sql(PRODUCTS_BY_REVENUE.format(direction="desc")),
    "products/bottom_products": sql(PRODUCTS_BY_REVENUE.format(direction="asc")),
    "products/revenue_per_category": sql(
        "select category, sum(net_revenue) as total_net_revenue from product_performance group by 1"
    ),
    "data_health/rows_per_layer": by_layer,
    "data_health/table_freshness": lambda superset: sorted(
        table_rows(superset), key=lambda row: row["table_name"]
    ),
    "data_health/quarantined_rows": lambda superset: [
        {
            "total_quarantined_rows": sum(
                r["total_quarantined_rows"] for r in quarantine_rows(superset)
            )
        }
    ],
    "data_health/quarantine_by_reason": quarantine_rows,
    "data_health/last_runs": last_runs,
}


def as_api_value(value: Any) -> Any:
    """A value as the chart-data API returns it (JSON: epoch ms for dates, floats for decimals)."""
    if isinstance(value, datetime):
        value = value if value.tzinfo else value.replace(tzinfo=UTC)
        return value.timestamp() * 1000
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp() * 1000
    if isinstance(value, Decimal):
        return float(value)
    return value


def same(actual: Any, expected: Any) -> bool:
    expected = as_api_value(expected)
    if isinstance(expected, float) or isinstance(actual, float):
        return actual is not None and math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-6)
    return actual == expected


def chart_ids(superset: RunningSuperset) -> dict[str, int]:
    listing = superset.session.get(
        f"{superset.url}/api/v1/chart/", params={"q": "(columns:!(id,uuid),page_size:100)"}
    )
    assert listing.ok, listing.text
    return {chart["uuid"]: chart["id"] for chart in listing.json()["result"]}


def test_every_chart_has_an_independent_expectation(superset: RunningSuperset) -> None:
    charts = {f"{d.slug}/{c.key}" for d in superset.spec.dashboards for c in d.charts}
    assert charts == set(EXPECTED)
    assert {d.slug for d in superset.spec.dashboards} >= {
        "revenue",
        "customers",
        "products",
        "data_health",
    }


def test_every_chart_shows_the_figures_of_gold(superset: RunningSuperset) -> None:
    ids = chart_ids(superset)
    checked = 0
    for dashboard in superset.spec.dashboards:
        for chart in dashboard.charts:
            name = f"{dashboard.slug}/{chart.key}"
            uuid = bundle.object_uuid(server.DATABASE_NAME, "chart", name)
            response = superset.session.get(f"{superset.url}/api/v1/chart/{ids[uuid]}/data/")
            assert response.ok, f"{name}: {response.status_code} {response.text[:500]}"
            actual: Rows = response.json()["result"][0]["data"]
            expected = EXPECTED[name](superset)
            compare(name, chart.order_by, chart.row_limit, actual, expected)
            checked += 1
    assert checked == len(EXPECTED)


def compare(name: str, order_by, row_limit: int, actual: Rows, expected: Rows) -> None:
    assert expected, f"{name}: the demo gave nothing to compare (the check could not fail)"
    if len(expected) > row_limit:
        # A top/bottom N: the N ordered values equal gold's first N; each row shown is a real one
        # (products tied on the value may come in either order).
        key = order_by[0]
        assert len(actual) == row_limit, name
        for got, want in zip(actual, expected[:row_limit], strict=True):
            assert same(got[key], want[key]), f"{name}: {got} != {want}"
        for got in actual:
            want = next((row for row in expected if all(same(got[k], row[k]) for k in row)), None)
            assert want is not None, f"{name}: {got} is not a row of gold"
        return
    assert len(actual) == len(expected), f"{name}: {len(actual)} rows, gold has {len(expected)}"
    if order_by:
        key = order_by[0]
        assert all(same(got[key], want[key]) for got, want in zip(actual, expected, strict=True)), (
            f"{name}: not ordered by {key} like gold"
        )
    unmatched = list(expected)
    for got in actual:
        match = next((row for row in unmatched if all(same(got[k], row[k]) for k in row)), None)
        assert match is not None, f"{name}: {got} is not among gold's rows {unmatched[:5]}"
        unmatched.remove(match)


def test_raw_tables_query_rows_as_they_are(superset: RunningSuperset) -> None:
    """Review finding: a raw table saved `metrics: []`, and Superset grouped by every column (and
    ordered by `sum(net_revenue)`, a metric named like the column). The SQL Superset runs for each
    chart's saved query (`?type=query`, superset/charts/data/api.py) groups exactly when the chart
    aggregates by a dimension, and a raw table's has no aggregate."""
    ids = chart_ids(superset)
    for dashboard in superset.spec.dashboards:
        for chart in dashboard.charts:
            name = f"{dashboard.slug}/{chart.key}"
            uuid = bundle.object_uuid(server.DATABASE_NAME, "chart", name)
            response = superset.session.get(
                f"{superset.url}/api/v1/chart/{ids[uuid]}/data/", params={"type": "query"}
            )
            assert response.ok, f"{name}: {response.status_code} {response.text[:500]}"
            query = response.json()["result"][0]["query"].upper()
            aggregates = bool(chart.metrics)
            assert ("GROUP BY" in query) == (aggregates and bool(chart.dimensions)), name
            assert aggregates or not any(f in query for f in ("SUM(", "COUNT(")), f"{name}: {query}"


def test_importing_again_updates_in_place(superset: RunningSuperset) -> None:
    """What a second `make dashboards` does: the same objects, no copies."""

    def count(kind: str) -> int:
        listing = superset.session.get(f"{superset.url}/api/v1/{kind}/", params={"q": "()"})
        assert listing.ok, listing.text
        return listing.json()["count"]

    before = {kind: count(kind) for kind in ("chart", "dashboard", "dataset", "database")}
    bundle_zip = superset.settings.data_dir / "superset" / "bundle.zip"
    server.import_bundle(superset.session, superset.url, bundle_zip)
    assert {kind: count(kind) for kind in before} == before
    # The command line's import (an init Job's way) reads the same ZIP and adds nothing either.
    server.superset(
        superset.superset_env, "import-dashboards", "-p", str(bundle_zip), "-u", "admin"
    )
    assert {kind: count(kind) for kind in before} == before
    charts = sum(len(d.charts) for d in superset.spec.dashboards)
    assert before["chart"] >= charts and before["database"] == 1
