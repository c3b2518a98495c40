"""The analytics layer: SCD2 dimensions and point-in-time facts, incremental runs equal to a full
refresh, the gold marts against figures computed here from the raw rows, and failing tests
stopping what is downstream of them."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TYPE_CHECKING, Any

import duckdb
from test_dbt_project import (
    customer_versions,
    expected_orders,
    fetch,
    first_arrival,
    naive_utc,
)

from tests.transformations.conftest import (
    append_raw,
    dump_tables,
    later,
    merge_rows,
    rows_arrived_in,
    run_dbt,
    utc,
    write_raw,
)

if TYPE_CHECKING:
    from tests.transformations.conftest import DbtRun, IncrementalRuns

Rows = dict[str, list[dict[str, Any]]]
CENT = Decimal("0.01")


# --- expected marts, computed from the raw rows without SQL -----------------------------------
def product_versions(rows: Rows) -> dict[int, list[tuple[datetime, datetime | None, Decimal]]]:
    """product_id -> [(valid_from, valid_to, unit_price)] in order."""
    history = defaultdict(list)
    for row in first_arrival(rows["products"], "product_id", "updated_at"):
        history[row["product_id"]].append(row)
    versions = {}
    for product_id, changes in history.items():
        changes.sort(key=lambda r: r["updated_at"])
        versions[product_id] = [
            (
                naive_utc(min(r["created_at"], r["updated_at"]) if n == 0 else r["updated_at"]),
                naive_utc(changes[n + 1]["updated_at"]) if n + 1 < len(changes) else None,
                r["unit_price"],
            )
            for n, r in enumerate(changes)
        ]
    return versions


def billable_lines(rows: Rows) -> list[dict[str, Any]]:
    orders = expected_orders(rows)
    return [
        {**line, "order_date": orders[line["order_id"]]["order_date"]}
        for line in first_arrival(rows["order_items"], "order_item_id")
        if orders[line["order_id"]]["status"] != "cancelled"
    ]


def expected_product_performance(rows: Rows) -> dict[int, dict[str, Any]]:
    expected = {}
    lines = billable_lines(rows)
    for product_id, versions in product_versions(rows).items():
        mine = [line for line in lines if line["product_id"] == product_id]
        gross = sum((line["quantity"] * line["unit_price"] for line in mine), Decimal("0"))
        discount = sum((line["discount_amount"] for line in mine), Decimal("0"))
        expected[product_id] = {
            "current_unit_price": versions[-1][2],
            "price_versions": len(versions),
            "order_count": len({line["order_id"] for line in mine}),
            "unit_count": sum(line["quantity"] for line in mine),
            "gross_revenue": gross,
            "discount_amount": discount,
            "net_revenue": gross - discount,
            "first_order_date": min((line["order_date"] for line in mine), default=None),
            "last_order_date": max((line["order_date"] for line in mine), default=None),
        }
    return expected


def expected_lifetime_value(rows: Rows) -> dict[int, dict[str, Any]]:
    orders = [o for o in expected_orders(rows).values() if o["status"] != "cancelled"]
    expected = {}
    for version in customer_versions(rows):
        if version.valid_to is not None:
            continue
        mine = [o for o in orders if o["customer_id"] == version.customer_id]
        value = sum((o["net_amount"] for o in mine), Decimal("0"))
        expected[version.customer_id] = {
            "customer_key": version.key,
            "city": version.city,
            "order_count": len(mine),
            "lifetime_value": value,
            "average_order_value": (value / len(mine)).quantize(CENT, ROUND_HALF_EVEN)
            if mine
            else None,
            "first_order_date": min((o["order_date"] for o in mine), default=None),
            "last_order_date": max((o["order_date"] for o in mine), default=None),
        }
    return expected


def expected_cohorts(rows: Rows) -> dict[tuple[date, date], tuple[int, int, int, int, Decimal]]:
    """(cohort_month, order_month) -> (months since, cohort size, active, orders, net revenue)."""
    orders = [o for o in expected_orders(rows).values() if o["status"] != "cancelled"]
    cohort = {}
    for o in sorted(orders, key=lambda o: o["order_date"]):
        cohort.setdefault(o["customer_id"], o["order_date"].replace(day=1))
    sizes = defaultdict(int)
    for month in cohort.values():
        sizes[month] += 1
    cells: dict[tuple[date, date], list] = defaultdict(lambda: [set(), 0, Decimal("0")])
    for o in orders:
        key = (cohort[o["customer_id"]], o["order_date"].replace(day=1))
        cells[key][0].add(o["customer_id"])
        cells[key][1] += 1
        cells[key][2] += o["net_amount"]
    return {
        (c, m): (
            (m.year - c.year) * 12 + m.month - c.month,
            sizes[c],
            len(customers),
            count,
            net,
        )
        for (c, m), (customers, count, net) in cells.items()
    }


def assert_marts_match(conn: duckdb.DuckDBPyConnection, rows: Rows) -> None:
    performance = expected_product_performance(rows)
    columns = list(next(iter(performance.values())))
    actual = {
        r["product_id"]: {c: r[c] for c in columns}
        for r in fetch(conn, "select * from gold.product_performance")
    }
    assert actual == performance

    lifetime = expected_lifetime_value(rows)
    columns = list(next(iter(lifetime.values())))
    actual = {
        r["customer_id"]: {c: r[c] for c in columns}
        for r in fetch(conn, "select * from gold.customer_lifetime_value")
    }
    assert actual == lifetime

    actual = {
        (r["cohort_month"], r["order_month"]): (
            r["months_since_first_order"],
            r["cohort_size"],
            r["active_customers"],
            r["order_count"],
            r["net_revenue"],
        )
        for r in fetch(conn, "select * from gold.customer_cohorts")
    }
    assert actual == expected_cohorts(rows)


# --- the full build of the base dataset --------------------------------------------------------
def test_gold_marts_match_raw_rows(warehouse: duckdb.DuckDBPyConnection, raw_rows) -> None:
    assert_marts_match(warehouse, raw_rows)
    # By hand: the kettle sold once at 25.50 (-5.50 discount) and once at 30.00 after its change.
    kettle = fetch(warehouse, "select * from gold.product_performance where product_id = 20")[0]
    assert (kettle["unit_count"], kettle["net_revenue"]) == (2, Decimal("50.00"))


def test_order_lines_join_the_product_version_valid_when_ordered(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    """Product 20 costs 25.50, then 30.00 from 2025-03-02 00:00: order 100 (1 March) takes the
    first version, order 102 (2 March) the second."""
    rows = fetch(
        warehouse,
        "select f.order_id, f.unit_price, p.unit_price as version_price, p.version_number "
        "from gold.fct_order_items f join silver.dim_product p on f.product_key = p.product_key "
        "where f.product_id = 20 order by f.order_id",
    )
    assert [(r["order_id"], r["version_number"], r["version_price"]) for r in rows] == [
        (100, 1, Decimal("25.50")),
        (102, 2, Decimal("30.00")),
    ]
    assert all(r["unit_price"] == r["version_price"] for r in rows)


def test_dim_product_matches_raw_rows(warehouse: duckdb.DuckDBPyConnection, raw_rows) -> None:
    actual = defaultdict(list)
    for r in fetch(warehouse, "select * from silver.dim_product order by valid_from"):
        actual[r["product_id"]].append((r["valid_from"], r["valid_to"], r["unit_price"]))
    assert dict(actual) == product_versions(raw_rows)


def test_dim_date_is_a_gapless_calendar(warehouse: duckdb.DuckDBPyConnection) -> None:
    (first, last, days, distinct) = warehouse.execute(
        "select min(date_day), max(date_day), count(*), count(distinct date_day) "
        "from silver.dim_date"
    ).fetchone()
    # Whole years from the first signup (2025-01-05) to the year after the last delivery (2025).
    assert (first, last) == (date(2025, 1, 1), date(2026, 12, 31))
    assert days == distinct == (last - first).days + 1
    saturday = fetch(warehouse, "select * from silver.dim_date where date_day = '2025-03-01'")[0]
    assert (saturday["day_of_week"], saturday["is_weekend"]) == (6, True)
    assert saturday["week_start_date"] == date(2025, 2, 24)


# --- incremental runs, business date by business date -------------------------------------------
def test_incremental_runs_equal_a_full_refresh(incremental_runs: IncrementalRuns) -> None:
    incremental = incremental_runs.after_window[-1]
    assert set(incremental) == set(incremental_runs.full_refresh)
    for table, rows in incremental_runs.full_refresh.items():
        assert rows, table
        assert incremental[table] == rows, table


def test_incremental_runs_equal_the_full_build_of_the_same_dates(
    incremental_runs: IncrementalRuns, dbt_build: DbtRun
) -> None:
    """Before the extra day, the incremental tables equal the session's one-shot full build."""
    built = dump_built(dbt_build)
    before_extra_day = incremental_runs.after_window[-2]
    assert set(before_extra_day) == set(built)
    for table, rows in built.items():
        assert before_extra_day[table] == rows, table


def dump_built(run: DbtRun) -> dict[str, list[tuple]]:
    return dump_tables(run.target_path.parent / "data" / "lakehouse.duckdb")


def late_night_order() -> Rows:
    """Order 105, placed 2025-03-02 23:55 UTC, paid at 00:02: its placed version and line arrive
    on 2025-03-02, its paid version and payment on 2025-03-03."""
    placed, paid = utc(2025, 3, 2, 23, 55), utc(2025, 3, 3, 0, 2)
    order = {"order_id": 105, "customer_id": 1, "ordered_at": placed, "channel": "web"}
    return {
        "customers": [],
        "products": [],
        "orders": [
            {**order, "status": status, "updated_at": at, "_arrived_at": later(at)}
            for status, at in [("placed", placed), ("paid", paid)]
        ],
        "order_items": [
            {
                "order_item_id": 1008,
                "order_id": 105,
                "product_id": 10,
                "quantity": 3,
                "unit_price": Decimal("10.00"),
                "discount_amount": Decimal("1.50"),
                "created_at": placed,
                "_arrived_at": later(placed),
            }
        ],
        "payments": [
            {
                "payment_id": 5005,
                "order_id": 105,
                "payment_method": "card",
                "amount": Decimal("28.50"),
                "paid_at": paid,
                "_arrived_at": later(paid),
            }
        ],
    }


def test_a_date_built_after_later_dates_reached_raw_keeps_orders_and_payments_together(
    tmp_path_factory, raw_rows
) -> None:
    """Raw holds 2025-03-03 (order 105's paid version and payment) when 2025-03-02 builds, as when
    raw_job runs ahead of a date's build: silver.orders rebuilds order 105 from all its versions
    (paid), so silver.payments must bring its payment along, or fct_orders shows it paid with
    nothing paid (assert_paid_orders_fully_paid, run by each `dbt build`). Then 2025-03-03 builds,
    and 2025-03-02 again (a backfill re-run): the tables still equal a full refresh."""
    work_dir = tmp_path_factory.mktemp("dbt_raw_ahead")
    data_dir = work_dir / "data"
    env = {"LAKEHOUSE_PROFILE": "local", "LAKEHOUSE_DATA_DIR": str(data_dir)}
    rows = merge_rows(raw_rows, late_night_order())
    first, day, next_day, end = (date(2024, 12, 1), *(date(2025, 3, d) for d in (2, 3, 4)))
    paid = "select status, net_amount, paid_amount from gold.fct_orders where order_id = 105"

    def build(start: date, stop: date) -> None:
        window = {"business_date_start": start.isoformat(), "business_date_end": stop.isoformat()}
        run = run_dbt(
            ["build", "--target", "local", "--vars", json.dumps(window)], work_dir=work_dir, env=env
        )
        assert run.returncode == 0, run.output

    write_raw(data_dir, rows_arrived_in(rows, first, day))
    build(first, day)
    append_raw(data_dir, rows_arrived_in(rows, day, end))  # both later dates reach raw
    for start, stop in [(day, next_day), (next_day, end), (day, next_day)]:
        build(start, stop)
        with duckdb.connect(str(data_dir / "lakehouse.duckdb"), read_only=True) as conn:
            # 3 x 10.00 - 1.50, computed here; the payment covers it.
            assert conn.execute(paid).fetchall() == [("paid", Decimal("28.50"), Decimal("28.50"))]
    incremental = dump_tables(data_dir / "lakehouse.duckdb")
    full = run_dbt(["run", "--target", "local", "--full-refresh"], work_dir=work_dir, env=env)
    assert full.returncode == 0, full.output
    assert incremental == dump_tables(data_dir / "lakehouse.duckdb")


def test_silver_models_ran_incrementally(incremental_runs: IncrementalRuns) -> None:
    """After the first window the silver entities are merged (delete+insert), not rebuilt."""
    incremental = {"dim_customer", "dim_product", "orders", "order_items", "payments"}
    first, *later = incremental_runs.incremental_branch
    assert not any(first.values()), first  # the first run creates the tables
    for branches in later:
        assert {model for model, taken in branches.items() if taken} == incremental, branches
    for run in incremental_runs.runs[1:]:
        for model in incremental:
            assert f"incremental model silver.{model} " in run.output, model


def test_address_change_on_a_later_date_adds_exactly_one_version(
    incremental_runs: IncrementalRuns,
) -> None:
    before, after = incremental_runs.after_window[-2:]

    def versions(tables: dict[str, list[tuple]]) -> list[tuple]:
        # columns: customer_key, customer_id, first_name, last_name, email, city, country,
        # segment, created_at, updated_at, valid_from, valid_to, is_current, ...
        return sorted(
            (r[5], r[10], r[11], r[12]) for r in tables["silver.dim_customer"] if r[1] == 2
        )

    assert versions(before) == [("Lisbon", datetime(2025, 2, 1, 8), None, True)]
    assert versions(after) == [
        ("Lisbon", datetime(2025, 2, 1, 8), datetime(2025, 3, 6, 9), False),
        ("Porto", datetime(2025, 3, 6, 9), None, True),
    ]
    # Customer 1 is untouched by the extra day.
    assert [r for r in before["silver.dim_customer"] if r[1] == 1] == [
        r for r in after["silver.dim_customer"] if r[1] == 1
    ]
    assert len(after["silver.dim_customer"]) == len(before["silver.dim_customer"]) + 1


def test_order_after_a_price_change_joins_the_new_product_version(
    incremental_runs: IncrementalRuns,
) -> None:
    """Product 10 goes to 12.00 at 10:00 on 6 March; order 104 at 11:00 takes that version (and
    customer 2's Porto version), earlier orders keep the 10.00 version."""
    tables = incremental_runs.after_window[-1]
    # key -> (product_id, unit_price, version_number)
    products = {r[0]: (r[1], r[5], r[11]) for r in tables["silver.dim_product"]}
    customers = {r[0]: r[5] for r in tables["silver.dim_customer"]}  # key -> city
    lines = {r[0]: r for r in tables["gold.fct_order_items"]}
    # fct_order_items columns: order_item_id, order_id, product_id, product_key, customer_id,
    # customer_key, ordered_at, order_date, status, quantity, unit_price, list_price, ...
    assert products[lines[1007][3]] == (10, Decimal("12.00"), 2)
    assert customers[lines[1007][5]] == "Porto"
    assert lines[1007][11] == Decimal("12.00")
    for earlier in (1001, 1003, 1005, 1006):
        assert products[lines[earlier][3]] == (10, Decimal("10.00"), 1)


def test_late_product_version_moves_the_lines_ordered_after_it(
    incremental_runs: IncrementalRuns,
) -> None:
    """The version of product 20 valid from 2 March 14:00 arrives on 6 March: the incremental
    line fact moves line 1004 (ordered at 15:00) to it; line 1002 (1 March) keeps version 1."""
    before, after = incremental_runs.after_window[-2:]

    def product_versions(tables: dict[str, list[tuple]]) -> dict[int, tuple]:
        # line -> (product_name, valid_from) of its product version; dim_product columns:
        # product_key, product_id, sku, product_name, category, unit_price, created_at,
        # updated_at, valid_from, ...
        versions = {r[0]: (r[3], r[8]) for r in tables["silver.dim_product"]}
        return {r[0]: versions[r[3]] for r in tables["gold.fct_order_items"] if r[2] == 20}

    assert product_versions(before) == {
        1002: ("Kettle", datetime(2024, 12, 1)),
        1004: ("Kettle", datetime(2025, 3, 2)),
    }
    assert product_versions(after) == {
        1002: ("Kettle", datetime(2024, 12, 1)),
        1004: ("Kettle 1.7 l", datetime(2025, 3, 2, 14)),
    }


def test_gold_facts_ran_incrementally(incremental_runs: IncrementalRuns) -> None:
    """After the first window the two facts are merged (delete+insert); the marts are tables."""
    for run in incremental_runs.runs[1:]:
        for model in ("fct_orders", "fct_order_items"):
            assert f"incremental model gold.{model} " in run.output, model
        assert "table model gold.daily_revenue " in run.output


def test_every_test_passes_after_the_last_increment(incremental_runs: IncrementalRuns) -> None:
    results = incremental_runs.last_build_results
    failing = {r["unique_id"]: r["status"] for r in results
               if r["status"] not in {"success", "pass", "no-op"}}  # fmt: skip
    assert not failing
    assert any(r["unique_id"].startswith("unit_test.") for r in results)


def test_gold_marts_match_raw_rows_after_increments(incremental_runs: IncrementalRuns) -> None:
    """The marts built incrementally over both datasets match the figures computed from raw."""
    database = incremental_runs.runs[-1].target_path.parent / "data" / "lakehouse.duckdb"
    conn = duckdb.connect(str(database), read_only=True)
    try:
        assert_marts_match(conn, incremental_runs.rows)
    finally:
        conn.close()


# --- a failing test stops what is downstream -----------------------------------------------------
def test_failing_test_skips_downstream_models(failing_build: DbtRun) -> None:
    assert failing_build.returncode != 0
    results = json.loads((failing_build.target_path / "run_results.json").read_text())["results"]
    status = {r["unique_id"]: r["status"] for r in results}
    failed = [u for u, s in status.items() if s == "fail"]
    assert failed and all("segment" in u for u in failed), failed
    for model in ("dim_customer", "fct_orders", "fct_order_items", "daily_revenue",
                  "customer_lifetime_value", "customer_cohorts", "product_performance",
                  "dim_date"):  # fmt: skip
        assert status[f"model.lakehouse.{model}"] == "skipped", model
    # What does not depend on customers is still built.
    for model in ("dim_product", "orders", "order_items", "payments"):
        assert status[f"model.lakehouse.{model}"] == "success", model


# --- source freshness ---------------------------------------------------------------------------
def test_source_freshness_is_checked_on_every_raw_table(failing_build: DbtRun) -> None:
    """`dbt source freshness` measures _arrived_at of all five raw tables; the test data is from
    2025, so every source is past error_after (50 h) and the command fails."""
    work_dir = failing_build.target_path.parent
    run = run_dbt(
        ["source", "freshness", "--target", "local"],
        work_dir=work_dir / "freshness",
        env={"LAKEHOUSE_PROFILE": "local", "LAKEHOUSE_DATA_DIR": str(work_dir / "data")},
    )
    assert run.returncode != 0, run.output
    results = json.loads((run.target_path / "sources.json").read_text())["results"]
    assert {r["unique_id"].rsplit(".", 1)[-1]: r["status"] for r in results} == {
        t: "error" for t in ("customers", "products", "orders", "order_items", "payments")
    }
