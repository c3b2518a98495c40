"""gold.ml_customer_features, the dbt model itself (DuckDB), on hand-made gold/silver inputs:
features at a cutoff use only what happened before it (no leakage), and the label looks after it.

The inputs are the three relations the model reads (fct_orders, silver orders, dim_customer),
created in a fresh DuckDB file; `dbt run --select ml_customer_features` builds the model there.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from tests.transformations.conftest import run_dbt

CUTOFF = date(2025, 3, 4)  # end - 28 days: a weekly cutoff whose label window is complete
LABEL = "churned"

BASE_ORDERS = [
    # order_id, customer_id, order_date, status, net_amount, status_updated_at
    (100, 1, "2025-01-20", "delivered", 50.00, "2025-01-24 10:00:00"),  # before the 30 days
    (101, 1, "2025-02-10", "delivered", 20.00, "2025-02-14 10:00:00"),
    (102, 1, "2025-02-20", "returned", 30.00, "2025-03-01 09:00:00"),  # returned before the cutoff
    (103, 1, "2025-03-02", "returned", 15.00, "2025-03-10 09:00:00"),  # ... after it: not yet
    (201, 2, "2025-02-25", "cancelled", 12.50, "2025-02-25 12:00:00"),
    (202, 2, "2025-03-03", "delivered", 40.00, "2025-03-07 12:00:00"),
    (901, 9, "2025-03-01", "delivered", 10.00, "2025-03-05 12:00:00"),
    (902, 9, "2025-03-31", "placed", 10.00, "2025-03-31 12:00:00"),  # the latest order: end 04-01
]
BASE_CUSTOMERS = [
    # customer_id, segment, created_at, valid_from, valid_to
    (1, "consumer", "2024-06-01 08:00:00", "2024-06-01 08:00:00", None),
    (2, "small_business", "2024-12-01 08:00:00", "2024-12-01 08:00:00", None),
    (9, "corporate", "2023-01-01 08:00:00", "2023-01-01 08:00:00", None),
]
# Everything that happens from the cutoff on: new orders (inside the label window), a return and
# a cancellation of orders placed before the cutoff, a segment change and a new customer.
RETURNED_LATER = (101, 1, "2025-02-10", "returned", 20.00, "2025-03-20 10:00:00")
CANCELLED_LATER = (202, 2, "2025-03-03", "cancelled", 40.00, "2025-03-04 00:00:00")
LATER_ORDERS = [
    (104, 1, "2025-03-05", "delivered", 25.00, "2025-03-09 10:00:00"),
    (203, 2, "2025-03-15", "placed", 5.00, "2025-03-15 10:00:00"),
    (401, 4, "2025-03-06", "placed", 8.00, "2025-03-06 10:00:00"),
]
LATER_CUSTOMERS = [
    (2, "small_business", "2024-12-01 08:00:00", "2024-12-01 08:00:00", "2025-03-10 00:00:00"),
    (2, "corporate", "2024-12-01 08:00:00", "2025-03-10 00:00:00", None),
    (4, "consumer", "2025-03-05 08:00:00", "2025-03-05 08:00:00", None),
]


def build(work_dir: Path, orders: list[tuple], customers: list[tuple]) -> list[dict]:
    """Create the model's inputs in a fresh DuckDB file, dbt-run the model, read its rows."""
    data_dir = work_dir / "data"
    data_dir.mkdir(parents=True)
    with duckdb.connect(str(data_dir / "lakehouse.duckdb")) as conn:
        conn.execute("create schema gold; create schema silver")
        conn.execute(
            "create table gold.fct_orders (order_id bigint, customer_id bigint, order_date date,"
            " status varchar, net_amount decimal(18,2))"
        )
        conn.execute("create table silver.orders (order_id bigint, status_updated_at timestamp)")
        conn.execute(
            "create table silver.dim_customer (customer_id bigint, segment varchar,"
            " created_at timestamp, valid_from timestamp, valid_to timestamp)"
        )
        conn.executemany(
            "insert into gold.fct_orders values (?, ?, ?, ?, ?)", [o[:5] for o in orders]
        )
        conn.executemany("insert into silver.orders values (?, ?)", [(o[0], o[5]) for o in orders])
        conn.executemany("insert into silver.dim_customer values (?, ?, ?, ?, ?)", customers)
    run = run_dbt(
        ["run", "--select", "ml_customer_features", "--target", "local"],
        work_dir=work_dir,
        env={"LAKEHOUSE_DATA_DIR": str(data_dir), "LAKEHOUSE_PROFILE": "local"},
        unset=("LAKEHOUSE_BUSINESS_DATE",),
    )
    assert run.returncode == 0, run.output
    with duckdb.connect(str(data_dir / "lakehouse.duckdb"), read_only=True) as conn:
        cursor = conn.execute(
            "select * from gold.ml_customer_features order by cutoff_date, customer_id"
        )
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[dict], list[dict]]:
    base = build(tmp_path_factory.mktemp("base"), BASE_ORDERS, BASE_CUSTOMERS)
    later_customers = [c for c in BASE_CUSTOMERS if c[0] != 2] + LATER_CUSTOMERS
    # Orders 101 and 202 reach their new status at or after the cutoff: the source's current
    # state (what silver and gold hold) no longer says what they were at the cutoff.
    later_state = {o[0]: o for o in (RETURNED_LATER, CANCELLED_LATER)}
    orders = [later_state.get(o[0], o) for o in BASE_ORDERS] + LATER_ORDERS
    changed = build(tmp_path_factory.mktemp("changed"), orders, later_customers)
    return base, changed


def at(rows: list[dict], cutoff: date) -> dict[int, dict]:
    return {r["customer_id"]: r for r in rows if r["cutoff_date"] == cutoff}


def test_features_at_the_cutoff_are_computed_from_before_it(builds) -> None:
    base, _ = builds
    rows = at(base, CUTOFF)
    assert set(rows) == {1, 2, 9}  # customer 4 does not exist yet
    one = rows[1]
    assert one["recency_days"] == 2  # 03-02
    assert (one["orders_7d"], one["orders_30d"]) == (1, 3)  # 03-02; 02-10, 02-20, 03-02
    assert float(one["monetary_30d"]) == 65.00
    assert one["returned_orders_30d"] == 1  # 102; 103 is returned only after the cutoff
    assert one["tenure_days"] == (CUTOFF - date(2024, 6, 1)).days
    two = rows[2]
    assert (two["segment"], two["cancelled_orders_30d"], two["recency_days"]) == (
        "small_business",
        1,
        1,
    )
    assert float(two["monetary_30d"]) == 40.00  # the cancelled order's amount is left out
    assert rows[9]["segment"] == "corporate"
    # Labels: no order in [03-04, 04-01) -> churned; customer 9 orders on 03-31.
    assert (one[LABEL], two[LABEL], rows[9][LABEL]) == (True, True, False)


def test_no_leakage_changes_after_the_cutoff_leave_its_features_unchanged(builds) -> None:
    base, changed = builds
    before, after = at(base, CUTOFF), at(changed, CUTOFF)
    assert set(before) == set(after)
    for customer, row in before.items():
        features = {k: v for k, v in row.items() if k != LABEL}
        assert features == {k: v for k, v in after[customer].items() if k != LABEL}
    # ... while the label, which looks after the cutoff, sees the new orders.
    assert (after[1][LABEL], after[2][LABEL]) == (False, False)


def test_cutoffs_and_unknown_labels(builds) -> None:
    base, _ = builds
    cutoffs = sorted({r["cutoff_date"] for r in base})
    end = date(2025, 4, 1)
    assert end in cutoffs and CUTOFF in cutoffs
    assert all((end - c).days % 7 == 0 or (end - c).days < 7 for c in cutoffs)
    for r in base:  # a label window that is not over yet has no label
        assert (r[LABEL] is None) == ((r["label_window_end"] - end).days > 0)
        assert 1 <= r["recency_days"] <= 30  # only customers active at the cutoff
