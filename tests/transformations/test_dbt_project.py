"""The dbt project end to end on DuckDB, checked against figures computed here from the raw rows,
plus the Trino target's parse and compiled SQL (no server needed)."""

from __future__ import annotations

import hashlib
import json
import warnings
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import duckdb

from lakehouse.layers import PUBLISHED_LAYERS, STAGING_SUFFIX

if TYPE_CHECKING:
    from tests.transformations.conftest import (
        DbtRun,  # the fixtures' result type (tests/transformations/conftest.py)
    )


Rows = dict[str, list[dict[str, Any]]]

LAYER_MATERIALIZATION = {"bronze": "view", "silver": "incremental", "gold": "table"}
# Models whose materialization differs from their layer's.
MATERIALIZATION_EXCEPTIONS = {
    "dim_date": "table",
    "fct_orders": "incremental",
    "fct_order_items": "incremental",
}
MODEL_COUNT = 18


# --- expected figures, computed from the raw rows without SQL ------------------------------------
def naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def first_arrival(rows: list[dict[str, Any]], *key: str) -> list[dict[str, Any]]:
    kept: dict[tuple, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: r["_arrived_at"]):
        kept.setdefault(tuple(row[k] for k in key), row)
    return list(kept.values())


@dataclass(frozen=True)
class Version:
    customer_id: int
    city: str
    valid_from: datetime
    valid_to: datetime | None

    @property
    def key(self) -> str:
        natural = f"{self.customer_id}|{self.valid_from:%Y-%m-%d %H:%M:%S.%f}"
        return hashlib.md5(natural.encode()).hexdigest()


def customer_versions(rows: Rows) -> list[Version]:
    by_customer = defaultdict(list)
    for row in first_arrival(rows["customers"], "customer_id", "updated_at"):
        by_customer[row["customer_id"]].append(row)
    versions = []
    for customer_id, history in by_customer.items():
        history.sort(key=lambda r: r["updated_at"])
        for n, row in enumerate(history):
            start = min(row["created_at"], row["updated_at"]) if n == 0 else row["updated_at"]
            end = history[n + 1]["updated_at"] if n + 1 < len(history) else None
            versions.append(
                Version(
                    customer_id,
                    row["city"],
                    naive_utc(start),
                    naive_utc(end) if end else None,
                )
            )
    return versions


def expected_orders(rows: Rows) -> dict[int, dict[str, Any]]:
    latest: dict[int, dict[str, Any]] = {}
    for row in rows["orders"]:
        if (
            row["order_id"] not in latest
            or row["updated_at"] > latest[row["order_id"]]["updated_at"]
        ):
            latest[row["order_id"]] = row
    items = first_arrival(rows["order_items"], "order_item_id")
    payments = first_arrival(rows["payments"], "payment_id")
    versions = customer_versions(rows)
    expected = {}
    for order_id, order in latest.items():
        ordered_at = naive_utc(order["ordered_at"])
        (version,) = [
            v
            for v in versions
            if v.customer_id == order["customer_id"]
            and v.valid_from <= ordered_at
            and (v.valid_to is None or ordered_at < v.valid_to)
        ]
        lines = [i for i in items if i["order_id"] == order_id]
        gross = sum((i["quantity"] * i["unit_price"] for i in lines), Decimal("0"))
        discount = sum((i["discount_amount"] for i in lines), Decimal("0"))
        paid = [p["amount"] for p in payments if p["order_id"] == order_id]
        expected[order_id] = {
            "customer_id": order["customer_id"],
            "customer_key": version.key,
            "order_date": ordered_at.date(),
            "status": order["status"].strip().lower(),
            "channel": order["channel"].strip().lower(),
            "item_count": len(lines),
            "unit_count": sum(i["quantity"] for i in lines),
            "gross_amount": gross,
            "discount_amount": discount,
            "net_amount": gross - discount,
            "payment_count": len(paid),
            "paid_amount": sum(paid, Decimal("0")),
        }
    return expected


def expected_daily_revenue(rows: Rows) -> dict[date, tuple[int, int, Decimal]]:
    """order_date -> (orders, items, net revenue), cancelled orders excluded."""
    days: dict[date, tuple[int, int, Decimal]] = {}
    for order in expected_orders(rows).values():
        if order["status"] == "cancelled":
            continue
        n, items, net = days.get(order["order_date"], (0, 0, Decimal("0")))
        days[order["order_date"]] = (n + 1, items + order["item_count"], net + order["net_amount"])
    return days


def fetch(conn: duckdb.DuckDBPyConnection, sql: str) -> list[dict[str, Any]]:
    cursor = conn.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


# --- the DuckDB build ------------------------------------------------------------------------------
def test_build_ran_every_model_and_test(dbt_build: DbtRun) -> None:
    results = json.loads((dbt_build.target_path / "run_results.json").read_text())["results"]
    statuses = {r["unique_id"]: r["status"] for r in results}
    exposures = {u for u in statuses if u.startswith("exposure.")}
    assert {statuses[u] for u in exposures} <= {"no-op"}, statuses
    assert {s for u, s in statuses.items() if u not in exposures} <= {"success", "pass"}, statuses
    models = [u for u in statuses if u.startswith("model.")]
    tests = [u for u in statuses if u.startswith("test.")]
    unit_tests = [u for u in statuses if u.startswith("unit_test.")]
    assert len(models) == MODEL_COUNT
    assert len(unit_tests) >= 3
    assert "test.lakehouse.assert_paid_orders_fully_paid" in tests
    assert any(".relationships_fct_orders_customer_key" in t for t in tests)


def test_layers_are_schemas_with_their_materialization(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    relations = fetch(
        warehouse,
        "select table_schema, table_name, table_type from information_schema.tables "
        "where table_schema in ('bronze', 'silver', 'gold')",
    )
    kinds = {(r["table_schema"], r["table_name"]): r["table_type"] for r in relations}
    assert kinds == {
        ("bronze", "stg_customers"): "VIEW",
        ("bronze", "stg_products"): "VIEW",
        ("bronze", "stg_orders"): "VIEW",
        ("bronze", "stg_order_items"): "VIEW",
        ("bronze", "stg_payments"): "VIEW",
        ("silver", "dim_customer"): "BASE TABLE",
        ("silver", "orders"): "BASE TABLE",
        ("silver", "order_items"): "BASE TABLE",
        ("silver", "payments"): "BASE TABLE",
        ("silver", "dim_product"): "BASE TABLE",
        ("silver", "dim_date"): "BASE TABLE",
        ("gold", "fct_orders"): "BASE TABLE",
        ("gold", "fct_order_items"): "BASE TABLE",
        ("gold", "daily_revenue"): "BASE TABLE",
        ("gold", "customer_lifetime_value"): "BASE TABLE",
        ("gold", "customer_cohorts"): "BASE TABLE",
        ("gold", "product_performance"): "BASE TABLE",
        ("gold", "ml_customer_features"): "BASE TABLE",
    }


def test_daily_revenue_matches_raw_rows(warehouse: duckdb.DuckDBPyConnection, raw_rows) -> None:
    actual = {
        r["order_date"]: (r["orders"], r["items"], r["net_revenue"])
        for r in fetch(warehouse, "select * from gold.daily_revenue")
    }
    assert actual == expected_daily_revenue(raw_rows)
    # The same, by hand: order 101 (23:30 UTC on 1 March) is cancelled; line 1001 is counted once.
    assert actual == {
        date(2025, 3, 1): (1, 2, Decimal("40.00")),
        date(2025, 3, 2): (2, 3, Decimal("78.00")),
    }


def test_daily_revenue_gross_minus_discount_is_net(warehouse: duckdb.DuckDBPyConnection) -> None:
    rows = fetch(warehouse, "select * from gold.daily_revenue")
    assert rows
    for row in rows:
        assert row["gross_revenue"] - row["discount_amount"] == row["net_revenue"]


def test_fct_orders_matches_raw_rows(warehouse: duckdb.DuckDBPyConnection, raw_rows) -> None:
    columns = list(next(iter(expected_orders(raw_rows).values())))
    actual = {
        r["order_id"]: {c: r[c] for c in columns}
        for r in fetch(warehouse, "select * from gold.fct_orders")
    }
    assert actual == expected_orders(raw_rows)


def test_fct_orders_takes_the_customer_version_valid_when_ordered(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    cities = {
        r["order_id"]: r["city"]
        for r in fetch(
            warehouse,
            "select f.order_id, d.city from gold.fct_orders f "
            "join silver.dim_customer d on f.customer_key = d.customer_key "
            "where f.customer_id = 1",
        )
    }
    assert cities == {100: "Berlin", 102: "Hamburg"}


def test_customer_with_address_change_has_two_contiguous_versions(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    first, second = fetch(
        warehouse, "select * from silver.dim_customer where customer_id = 1 order by valid_from"
    )
    assert (first["city"], second["city"]) == ("Berlin", "Hamburg")
    assert first["valid_from"] == datetime(2025, 1, 5, 10, 0)
    assert first["valid_to"] == second["valid_from"] == datetime(2025, 3, 2, 12, 0)
    assert second["valid_to"] is None
    assert (first["is_current"], second["is_current"]) == (False, True)
    assert (first["version_number"], second["version_number"]) == (1, 2)
    assert first["customer_key"] != second["customer_key"]
    # Cleaning happened in bronze.
    assert first["email"] == "jonas.weber@example.com"
    assert (first["first_name"], first["country"]) == ("Jonas", "DE")


def test_dim_customer_matches_raw_rows(warehouse: duckdb.DuckDBPyConnection, raw_rows) -> None:
    actual = {
        (r["customer_key"], r["customer_id"], r["city"], r["valid_from"], r["valid_to"])
        for r in fetch(warehouse, "select * from silver.dim_customer")
    }
    expected = {
        (v.key, v.customer_id, v.city, v.valid_from, v.valid_to)
        for v in customer_versions(raw_rows)
    }
    assert actual == expected
    # Customer 2's only version is valid from its creation, before its updated_at.
    (ana,) = [v for v in customer_versions(raw_rows) if v.customer_id == 2]
    assert ana.valid_from == datetime(2025, 2, 1, 8, 0)


def test_silver_keeps_one_row_per_key_and_the_earliest_arrival(
    warehouse: duckdb.DuckDBPyConnection, raw_rows
) -> None:
    for table, key in [("order_items", "order_item_id"), ("payments", "payment_id")]:
        rows = fetch(warehouse, f"select {key}, arrived_at from silver.{table}")
        expected = {
            r[key]: naive_utc(r["_arrived_at"]) for r in first_arrival(raw_rows[table], key)
        }
        assert {r[key]: r["arrived_at"] for r in rows} == expected
        assert len(raw_rows[table]) == len(expected) + 1  # the dataset holds one duplicate each
    statuses = dict(warehouse.execute("select order_id, status from silver.orders").fetchall())
    assert statuses == {100: "shipped", 101: "cancelled", 102: "delivered", 103: "placed"}


def test_every_built_column_is_documented(
    dbt_build: DbtRun, warehouse: duckdb.DuckDBPyConnection
) -> None:
    """The .yml files list exactly the columns the models produce (no missing, no stale)."""
    for node in dbt_build.manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        built = [
            name
            for (name,) in warehouse.execute(
                "select column_name from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [node["schema"], node["alias"]],
            ).fetchall()
        ]
        assert built, node["unique_id"]
        assert list(node["columns"]) == built, node["unique_id"]


# --- the project itself (manifest of the trino target: no server, no data) -----------------------
def test_dbt_parse_trino_succeeds(trino_parse: DbtRun) -> None:
    assert trino_parse.returncode == 0, trino_parse.output
    models = [n for n in trino_parse.manifest["nodes"].values() if n["resource_type"] == "model"]
    assert len(models) == MODEL_COUNT
    for model in models:
        layer = model["fqn"][1]
        assert model["database"] == "iceberg"
        # custom schema used as-is, not trino_bronze; published layers build into staging first
        staged = layer in {published.value for published in PUBLISHED_LAYERS}
        assert model["schema"] == layer + (STAGING_SUFFIX if staged else ""), model["name"]
        expected = MATERIALIZATION_EXCEPTIONS.get(model["name"], LAYER_MATERIALIZATION[layer])
        assert model["config"]["materialized"] == expected, model["name"]
        assert model["config"]["contract"]["enforced"] == (layer == "gold"), model["name"]
    sources = trino_parse.manifest["sources"].values()
    assert {(s["source_name"], s["schema"], s["name"]) for s in sources} == {
        ("raw", "raw", t) for t in ("customers", "products", "orders", "order_items", "payments")
    }
    assert {s["loaded_at_field"] for s in sources} == {"_arrived_at"}


def test_every_model_source_and_column_has_a_description(trino_parse: DbtRun) -> None:
    manifest = trino_parse.manifest
    documented = [n for n in manifest["nodes"].values() if n["resource_type"] == "model"]
    documented += list(manifest["sources"].values())
    missing = []
    for node in documented:
        if not node["description"].strip():
            missing.append(node["unique_id"])
        if not node["columns"]:
            missing.append(f"{node['unique_id']}: no columns documented")
        for name, column in node["columns"].items():
            if not column["description"].strip():
                missing.append(f"{node['unique_id']}.{name}")
    assert not missing


def compiled_sql(run: DbtRun) -> dict[str, str]:
    root = run.target_path / "compiled"
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*.sql"))}


def test_trino_sql_parses_as_trino(trino_compile: DbtRun) -> None:
    """Every model and test compiled for Trino parses with sqlglot's Trino dialect, and calls no
    function sqlglot cannot place (a likely DuckDB-only function)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sqlglot warns about its optional Rust tokenizer
        import sqlglot
        from sqlglot import exp

    assert trino_compile.returncode == 0, trino_compile.output
    compiled = compiled_sql(trino_compile)
    assert len(compiled) > MODEL_COUNT
    for path, sql in compiled.items():
        tree = sqlglot.parse_one(sql, read="trino")
        unknown = [f.sql("trino") for f in tree.find_all(exp.Anonymous)]
        assert not unknown, (path, unknown)


def test_trino_build_reads_and_tests_only_its_staging_schemas(trino_compile: DbtRun) -> None:
    """Write-audit-publish on Trino: the build and its tests never touch the published silver or
    gold schemas (lakehouse/publish.py copies staging there after the tests pass)."""
    assert trino_compile.returncode == 0, trino_compile.output
    compiled = {p: sql.lower() for p, sql in compiled_sql(trino_compile).items()}
    staging_refs = 0
    for path, sql in compiled.items():
        for published in PUBLISHED_LAYERS:
            assert f'"iceberg"."{published.value}".' not in sql, path
            staging_refs += sql.count(f'"iceberg"."{published.value}{STAGING_SUFFIX}".')
    assert staging_refs > 0  # gold and the tests do read silver/gold: from staging


def test_trino_sql_uses_trino_macros(trino_compile: DbtRun) -> None:
    """The adapter-dispatched macros resolved to their Trino versions: microsecond timestamps
    (plain `timestamp` is milliseconds on Trino), no DuckDB-only functions."""
    assert trino_compile.returncode == 0, trino_compile.output
    models = {p: sql.lower() for p, sql in compiled_sql(trino_compile).items() if "/models/" in p}
    stg_orders = models["lakehouse/models/bronze/stg_orders.sql"]
    assert "cast(ordered_at at time zone 'utc' as timestamp(6))" in stg_orders
    for path, sql in models.items():
        assert "as timestamp)" not in sql, path
        assert "timezone(" not in sql and "strftime(" not in sql, path


def test_trino_sql_compiles_the_incremental_branch(trino_compile: DbtRun) -> None:
    """The incremental branch is the SQL checked above: in the silver models (keys that arrived in
    the run's window, on the raw arrival instant, then their whole history), in the gold facts
    (the facts to recompute)."""
    assert trino_compile.returncode == 0, trino_compile.output
    models = {p: sql.lower() for p, sql in compiled_sql(trino_compile).items() if "/models/" in p}
    for name in ("dim_customer", "dim_product", "orders", "order_items", "payments"):
        sql = models[f"lakehouse/models/silver/{name}.sql"]
        assert "changed_keys" in sql, name
        assert (
            "_arrived_at >= timestamp '2025-03-06 00:00:00 utc' "
            "and _arrived_at < timestamp '2025-03-07 00:00:00 utc'"
        ) in sql, name
    facts = {"fct_orders": ["customer"], "fct_order_items": ["product", "customer"]}
    for name, dimensions in facts.items():
        sql = models[f"lakehouse/models/gold/{name}.sql"]
        for dimension in dimensions:
            assert f"new_{dimension}_versions.changed_from" in sql, (name, dimension)
