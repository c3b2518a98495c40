"""The raw table contract: schemas, delivery windows, keys, re-sends, late rows and volumes."""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pytest

TS = pa.timestamp("us", tz="UTC")
MONEY = pa.decimal128(12, 2)

# Written out by hand (not imported) so a change to the generator's schema fails here.
EXPECTED = {
    "customers": [
        ("customer_id", pa.int64()),
        ("first_name", pa.string()),
        ("last_name", pa.string()),
        ("email", pa.string()),
        ("city", pa.string()),
        ("country", pa.string()),
        ("segment", pa.string()),
        ("created_at", TS),
        ("updated_at", TS),
        ("_arrived_at", TS),
    ],
    "products": [
        ("product_id", pa.int64()),
        ("sku", pa.string()),
        ("product_name", pa.string()),
        ("category", pa.string()),
        ("unit_price", MONEY),
        ("created_at", TS),
        ("updated_at", TS),
        ("_arrived_at", TS),
    ],
    "orders": [
        ("order_id", pa.int64()),
        ("customer_id", pa.int64()),
        ("ordered_at", TS),
        ("status", pa.string()),
        ("channel", pa.string()),
        ("updated_at", TS),
        ("_arrived_at", TS),
    ],
    "order_items": [
        ("order_item_id", pa.int64()),
        ("order_id", pa.int64()),
        ("product_id", pa.int64()),
        ("quantity", pa.int32()),
        ("unit_price", MONEY),
        ("discount_amount", MONEY),
        ("created_at", TS),
        ("_arrived_at", TS),
    ],
    "payments": [
        ("payment_id", pa.int64()),
        ("order_id", pa.int64()),
        ("payment_method", pa.string()),
        ("amount", MONEY),
        ("paid_at", TS),
        ("_arrived_at", TS),
    ],
}
KEYS = {
    "customers": ("customer_id", "updated_at"),
    "products": ("product_id", "updated_at"),
    "orders": ("order_id", "updated_at"),
    "order_items": ("order_item_id",),
    "payments": ("payment_id",),
}
MERGE = ("customers", "products", "orders")
APPEND = ("order_items", "payments")


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    return start, start + timedelta(days=1)


def key(row: dict, table: str) -> tuple:
    return tuple(row[c] for c in KEYS[table])


@pytest.mark.parametrize("table", list(EXPECTED))
def test_schema_is_the_contract(table: str, increments) -> None:
    for increment in increments[table].values():
        schema = increment.schema
        assert [(f.name, f.type) for f in schema] == EXPECTED[table]
        for f in schema:
            # Keys and the cursor are declared non-null; the data never has a null anywhere.
            assert f.nullable == (f.name not in (*KEYS[table], "_arrived_at"))
            assert increment.column(f.name).null_count == 0


EVENT_TIME = {
    "customers": "updated_at",
    "products": "updated_at",
    "orders": "updated_at",
    "order_items": "created_at",
    "payments": "paid_at",
}


@pytest.mark.parametrize("table", list(EXPECTED))
def test_every_row_arrives_on_its_business_date(table: str, increments) -> None:
    for day, increment in increments[table].items():
        start, end = day_bounds(day)
        for r in increment.to_pylist():
            assert start <= r["_arrived_at"] < end
            # Delivered after it happened (the start-date snapshot: after it was last changed).
            assert r[EVENT_TIME[table]] <= r["_arrived_at"]


@pytest.mark.parametrize("table", MERGE)
def test_merge_keys_are_unique_within_and_across_days(table: str, rows) -> None:
    counts = Counter(key(r, table) for r in rows[table])
    assert counts and max(counts.values()) == 1


@pytest.mark.parametrize("table", APPEND)
def test_resends_are_about_one_percent_and_identical(table: str, rows) -> None:
    by_key: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows[table]:
        by_key[key(r, table)].append(r)
    resent = [group for group in by_key.values() if len(group) > 1]
    assert all(len(group) == 2 for group in resent)
    share = len(resent) / len(by_key)
    assert 0.005 < share < 0.016, share
    for first, second in resent:
        first, second = sorted((first, second), key=lambda r: r["_arrived_at"])
        assert first["_day"] == second["_day"]  # same increment
        lag = second["_arrived_at"] - first["_arrived_at"]
        assert timedelta(minutes=1) <= lag <= timedelta(minutes=10)
        strip = lambda r: {k: v for k, v in r.items() if k != "_arrived_at"}  # noqa: E731
        assert strip(first) == strip(second)


def test_late_rows_arrive_the_next_day(rows, increments, days) -> None:
    """~2% of orders: their day-of-order rows arrive early the next day."""
    for day in days[1:]:
        start, _ = day_bounds(day)
        items = increments["order_items"][day].to_pylist()
        payments = increments["payments"][day].to_pylist()
        placed = [r for r in increments["orders"][day].to_pylist() if r["status"] == "placed"]
        assert any(r["created_at"] < start for r in items)
        assert any(r["paid_at"] < start for r in payments)
        assert any(r["ordered_at"] < start for r in placed)
        late_orders = {r["order_id"] for r in items if r["created_at"] < start}
        assert late_orders == {r["order_id"] for r in placed if r["ordered_at"] < start}
        for r in items:
            if r["created_at"] < start:  # a late row arrives within the first hours
                assert r["_arrived_at"] < start + timedelta(hours=3, minutes=10)
                assert r["created_at"] >= start - timedelta(days=1)
    # Share of late orders among those placed on days[0..-2] (all of which have arrived; the
    # order history before days[0] comes with the start date's snapshot, never late).
    placed = [
        r
        for r in rows["orders"]
        if r["status"] == "placed" and days[0] <= r["ordered_at"].date() < days[-1]
    ]
    late = [r for r in placed if r["_day"] > r["ordered_at"].date()]
    assert 0.01 < len(late) / len(placed) < 0.035


def test_start_date_snapshot(increments, days) -> None:
    start, _ = day_bounds(days[0])
    customers = increments["customers"][days[0]].to_pylist()
    products = increments["products"][days[0]].to_pylist()
    assert len(customers) == 2_000 and len(products) == 100
    for r in customers + products:
        assert start - timedelta(days=730) <= r["created_at"] < start
        assert r["updated_at"] == r["created_at"]
    assert sorted(r["customer_id"] for r in customers) == list(range(1, 2_001))
    assert sorted(r["product_id"] for r in products) == list(range(1, 101))


def test_daily_customer_deltas(increments, days) -> None:
    for day in days[1:]:
        start, end = day_bounds(day)
        delta = increments["customers"][day].to_pylist()
        signups = [r for r in delta if r["created_at"] >= start]
        changes = [r for r in delta if r["created_at"] < start]
        assert len(signups) == 20
        assert all(r["updated_at"] == r["created_at"] < end for r in signups)
        assert 5 <= len(changes) <= 45  # ~1% of ~2,000 customers
        assert len({r["customer_id"] for r in changes}) == len(changes)  # one change each
        assert all(start <= r["updated_at"] < end for r in changes)


def test_value_domains(rows) -> None:
    assert {r["segment"] for r in rows["customers"]} == {"consumer", "small_business", "corporate"}
    assert all(re.fullmatch(r"[A-Z]{2}", r["country"]) for r in rows["customers"])
    assert all(
        re.fullmatch(r"[a-z]+\.[a-z]+\d+@example\.com", r["email"]) for r in rows["customers"]
    )
    assert {r["status"] for r in rows["orders"]} == {
        "placed",
        "paid",
        "shipped",
        "delivered",
        "cancelled",
        "returned",
    }
    assert {r["channel"] for r in rows["orders"]} == {"web", "mobile", "store"}
    assert {r["quantity"] for r in rows["order_items"]} == {1, 2, 3, 4, 5}
    assert {r["payment_method"] for r in rows["payments"]} == {
        "card",
        "paypal",
        "bank_transfer",
        "gift_card",
    }
    assert all(r["unit_price"] >= 0.5 for r in rows["products"] + rows["order_items"])
    assert all(r["order_item_id"] // 10 == r["order_id"] for r in rows["order_items"])
    assert all(r["payment_id"] // 10 == r["order_id"] for r in rows["payments"])


def test_order_lines_and_discounts(rows) -> None:
    lines: dict[int, set[int]] = defaultdict(set)
    products: dict[int, list[int]] = defaultdict(list)
    for r in {key(r, "order_items"): r for r in rows["order_items"]}.values():
        lines[r["order_id"]].add(r["order_item_id"] % 10)
        products[r["order_id"]].append(r["product_id"])
        amount = float(r["quantity"] * r["unit_price"])
        if r["discount_amount"]:
            assert amount * 0.05 - 0.01 <= float(r["discount_amount"]) <= amount * 0.2 + 0.01
    assert all(
        numbers == set(range(1, len(numbers) + 1)) and len(numbers) <= 5
        for numbers in lines.values()
    )
    assert all(len(set(p)) == len(p) for p in products.values())  # distinct products per order
    mean_lines = sum(len(n) for n in lines.values()) / len(lines)
    assert 2.3 < mean_lines < 2.7
    discounted = sum(1 for r in rows["order_items"] if r["discount_amount"]) / len(
        rows["order_items"]
    )
    assert 0.15 < discounted < 0.25


def test_order_volume_and_weekend_pattern(rows, days) -> None:
    per_day = Counter(r["ordered_at"].date() for r in rows["orders"] if r["status"] == "placed")
    for day in days[:-1]:  # the last day's late orders have not arrived yet
        expected = 500 * (1.3 if day.weekday() >= 5 else 1.0)
        assert expected * 0.94 <= per_day[day] <= expected * 1.06, (day, per_day[day])


def test_order_lifecycle(rows, days) -> None:
    """Each order's versions follow the lifecycle. An order placed before the start date (the
    history) arrives with the start date as one row, its latest version then (the snapshot is the
    source's current state), and its later transitions follow on their days."""
    start, _ = day_bounds(days[0])
    versions: dict[int, list[dict]] = defaultdict(list)
    for r in rows["orders"]:
        versions[r["order_id"]].append(r)
    allowed = {
        "placed": {"paid", "cancelled"},
        "paid": {"shipped"},
        "shipped": {"delivered"},
        "delivered": {"returned"},
        "cancelled": set(),
        "returned": set(),
    }
    final, history_orders = Counter(), 0
    for history in versions.values():
        history.sort(key=lambda r: r["updated_at"])
        first = history[0]
        if first["ordered_at"] < start:
            history_orders += 1
            assert first["_day"] == days[0]
            assert [r["updated_at"] < start for r in history] == [True] + [False] * (
                len(history) - 1
            )
        else:
            assert first["status"] == "placed"
            assert first["updated_at"] == first["ordered_at"]
        for before, after in itertools.pairwise(history):
            assert after["status"] in allowed[before["status"]]
            assert (after["customer_id"], after["channel"], after["ordered_at"]) == (
                first["customer_id"],
                first["channel"],
                first["ordered_at"],
            )
        offsets = {r["status"]: r["updated_at"] - r["ordered_at"] for r in history}
        if "paid" in offsets:
            assert timedelta(minutes=1) <= offsets["paid"] <= timedelta(minutes=15)
        if "cancelled" in offsets:
            assert timedelta(minutes=30) <= offsets["cancelled"] <= timedelta(hours=12)
        if "shipped" in offsets:
            assert timedelta(days=1) <= offsets["shipped"] <= timedelta(days=2)
        if "delivered" in offsets:
            assert timedelta(days=2) <= offsets["delivered"] <= timedelta(days=5)
        if "returned" in offsets and "delivered" in offsets:
            after_delivery = offsets["returned"] - offsets["delivered"]
            assert timedelta(days=3) <= after_delivery <= timedelta(days=10)
        final[history[-1]["status"]] += 1
    # ~120 days of ~550 orders: one snapshot row each, not their ~4 versions.
    assert 60_000 < history_orders < 70_000
    assert sum(r["updated_at"] < start for r in rows["orders"]) == history_orders
    n = sum(final.values())
    # 4% of orders, 40% of a cancel-prone customer's (a quarter of customers, fewer of the orders:
    # they churn faster): ~8.7% at seed 42.
    assert 0.06 < final["cancelled"] / n < 0.11
