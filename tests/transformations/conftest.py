"""Fixtures for the dbt project: a tiny raw dataset written with pyiceberg, and dbt runs over it.

dbt runs in a subprocess (as Dagster and `make` run it), with its own data folder, target path
and log path under pytest's temporary directory, so nothing is written into the repository.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from ingestion.shop.generator import SCHEMAS
from lakehouse.catalog import get_catalog
from lakehouse.paths import DBT_PROJECT_DIR
from lakehouse.settings import Settings

DBT = Path(sys.executable).with_name("dbt")


# The raw table contract is the source's own (dlt's `_dlt_load_id` is optional, left out).
RAW_SCHEMAS: dict[str, pa.Schema] = SCHEMAS


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def later(moment: datetime, minutes: int = 2) -> datetime:
    return moment + timedelta(minutes=minutes)


def shop_rows() -> dict[str, list[dict[str, Any]]]:
    """A two-day shop small enough to check by hand.

    * customer 1 moves from Berlin to Hamburg on 2025-03-02 12:00 (two versions; the first one is
      also re-sent) and orders once before (order 100) and once after the move (order 102);
    * customer 2 has one version whose updated_at is after created_at; their order 101 is placed
      at 2025-03-02 01:30 +02:00 = 2025-03-01 23:30 UTC and cancelled; order 103 stays 'placed';
    * order line 1001 and payment 5001 are re-sent a day later (duplicates);
    * order 100's status versions are written newest first (row order must not matter).
    """
    d2 = utc(2025, 3, 2, 0, 0)
    customers = [
        {
            "customer_id": 1,
            "first_name": " Jonas ",
            "last_name": "Weber",
            "email": " Jonas.Weber@Example.COM",
            "city": "Berlin",
            "country": "de",
            "segment": "consumer",
            "created_at": utc(2025, 1, 5, 10, 0),
            "updated_at": utc(2025, 1, 5, 10, 0),
            "_arrived_at": later(utc(2025, 1, 5, 10, 0)),
        },
        {
            "customer_id": 2,
            "first_name": "Ana",
            "last_name": "Silva",
            "email": "ana@example.com",
            "city": "Lisbon",
            "country": "PT",
            "segment": "corporate",
            "created_at": utc(2025, 2, 1, 8, 0),
            "updated_at": utc(2025, 2, 3, 9, 0),
            "_arrived_at": later(utc(2025, 2, 3, 9, 0)),
        },
    ]
    moved = {
        **customers[0],
        "city": "Hamburg",
        "updated_at": utc(2025, 3, 2, 12, 0),
        "_arrived_at": later(utc(2025, 3, 2, 12, 0)),
    }
    resent = {**customers[0], "_arrived_at": utc(2025, 3, 1, 6, 0)}
    customers += [moved, resent]

    products = [
        {
            "product_id": 10,
            "sku": "bk-010",
            "product_name": "Atlas",
            "category": "Books",
            "unit_price": Decimal("10.00"),
            "created_at": utc(2024, 12, 1),
            "updated_at": utc(2024, 12, 1),
            "_arrived_at": later(utc(2024, 12, 1)),
        },
        {
            "product_id": 20,
            "sku": "ki-020",
            "product_name": "Kettle",
            "category": "kitchen",
            "unit_price": Decimal("25.50"),
            "created_at": utc(2024, 12, 1),
            "updated_at": utc(2024, 12, 1),
            "_arrived_at": later(utc(2024, 12, 1)),
        },
        {
            "product_id": 20,
            "sku": "ki-020",
            "product_name": "Kettle",
            "category": "kitchen",
            "unit_price": Decimal("30.00"),
            "created_at": utc(2024, 12, 1),
            "updated_at": d2,
            "_arrived_at": later(d2),
        },
    ]

    def order(order_id, customer_id, ordered_at, channel, statuses):
        rows, moment = [], ordered_at
        for status, offset in statuses:
            moment = ordered_at + offset
            rows.append(
                {
                    "order_id": order_id,
                    "customer_id": customer_id,
                    "ordered_at": ordered_at,
                    "status": status,
                    "channel": channel,
                    "updated_at": moment,
                    "_arrived_at": later(moment),
                }
            )
        return rows

    zero = timedelta(0)
    o100 = utc(2025, 3, 1, 20, 0)
    o101 = datetime(2025, 3, 2, 1, 30, tzinfo=timezone(timedelta(hours=2)))
    o102 = utc(2025, 3, 2, 15, 0)
    o103 = utc(2025, 3, 2, 18, 0)
    orders = (
        order(100, 1, o100, "web", [("placed", zero), ("paid", timedelta(minutes=5)),
                                     ("shipped", timedelta(hours=20))])[::-1]
        + order(101, 2, o101, "Mobile", [("placed", zero), ("cancelled", timedelta(hours=1))])
        + order(102, 1, o102, "store", [("placed", zero), ("paid", timedelta(minutes=3)),
                                        ("shipped", timedelta(days=1)),
                                        ("delivered", timedelta(days=3))])
        + order(103, 2, o103, "web", [("placed", zero)])
    )  # fmt: skip

    def item(item_id, order_id, product_id, quantity, price, discount, ordered_at):
        return {
            "order_item_id": item_id,
            "order_id": order_id,
            "product_id": product_id,
            "quantity": quantity,
            "unit_price": Decimal(price),
            "discount_amount": Decimal(discount),
            "created_at": ordered_at,
            "_arrived_at": later(ordered_at),
        }

    order_items = [
        item(1001, 100, 10, 2, "10.00", "0.00", o100),
        item(1002, 100, 20, 1, "25.50", "5.50", o100),
        item(1003, 101, 10, 3, "10.00", "0.00", o101),
        item(1004, 102, 20, 1, "30.00", "0.00", o102),
        item(1005, 102, 10, 4, "10.00", "2.00", o102),
        item(1006, 103, 10, 1, "10.00", "0.00", o103),
    ]
    order_items.append({**order_items[0], "_arrived_at": later(d2, 30)})

    def payment(payment_id, order_id, method, amount, paid_at):
        return {
            "payment_id": payment_id,
            "order_id": order_id,
            "payment_method": method,
            "amount": Decimal(amount),
            "paid_at": paid_at,
            "_arrived_at": later(paid_at),
        }

    payments = [
        payment(5001, 100, "card", "40.00", o100 + timedelta(minutes=5)),
        payment(5002, 102, "gift_card", "50.00", o102 + timedelta(minutes=3)),
        payment(5003, 102, " Card", "18.00", o102 + timedelta(minutes=3)),
    ]
    payments.append({**payments[0], "_arrived_at": later(d2, 45)})

    return {
        "customers": customers,
        "products": products,
        "orders": orders,
        "order_items": order_items,
        "payments": payments,
    }


def write_raw(data_dir: Path, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Land ``rows`` as Iceberg tables ``raw.<table>`` in the local catalog under ``data_dir``."""
    catalog = get_catalog(Settings.from_env({"LAKEHOUSE_DATA_DIR": str(data_dir)}))
    catalog.create_namespace("raw")
    for name, schema in RAW_SCHEMAS.items():
        table = catalog.create_table(f"raw.{name}", schema=schema)
        table.append(pa.Table.from_pylist(rows[name], schema=schema))


@dataclass(frozen=True)
class DbtRun:
    returncode: int
    output: str
    target_path: Path

    @property
    def manifest(self) -> dict[str, Any]:
        return json.loads((self.target_path / "manifest.json").read_text())


def run_dbt(
    args: list[str],
    *,
    work_dir: Path,
    env: dict[str, str] | None = None,
    unset: tuple[str, ...] = (),
) -> DbtRun:
    """``dbt <args>`` on the project, with target and logs under ``work_dir``.

    ``env`` is added to this process's environment; variables starting with a prefix in ``unset``
    are removed from it first.
    """
    target_path = work_dir / "target"
    command = [
        str(DBT),
        *args,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target_path),
        "--log-path", str(work_dir / "logs"),
    ]  # fmt: skip
    base = {k: v for k, v in os.environ.items() if not (unset and k.startswith(unset))}
    run_env = {**base, "DO_NOT_TRACK": "1", **(env or {})}
    done = subprocess.run(
        command, env=run_env, capture_output=True, text=True, timeout=600, check=False
    )
    return DbtRun(done.returncode, done.stdout + done.stderr, target_path)


@pytest.fixture(scope="session")
def raw_rows() -> dict[str, list[dict[str, Any]]]:
    return shop_rows()


@pytest.fixture(scope="session")
def dbt_build(tmp_path_factory: pytest.TempPathFactory, raw_rows) -> DbtRun:
    """`dbt build --target local` over the tiny dataset (all models and tests), run once.

    The host time zone is set far from UTC so a model that let DuckDB convert timestamps to the
    session zone would put orders on the wrong date.
    """
    work_dir = tmp_path_factory.mktemp("dbt_local")
    data_dir = work_dir / "data"
    write_raw(data_dir, raw_rows)
    run = run_dbt(
        ["build", "--target", "local"],
        work_dir=work_dir,
        env={"LAKEHOUSE_PROFILE": "local", "LAKEHOUSE_DATA_DIR": str(data_dir), "TZ": "Asia/Tokyo"},
    )
    assert run.returncode == 0, run.output
    return run


@pytest.fixture(scope="session")
def warehouse(dbt_build: DbtRun) -> Iterator[duckdb.DuckDBPyConnection]:
    """The DuckDB file the build wrote (silver and gold are tables; bronze views are not read)."""
    data_dir = dbt_build.target_path.parent / "data"
    conn = duckdb.connect(str(data_dir / "lakehouse.duckdb"), read_only=True)
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def trino_parse(tmp_path_factory: pytest.TempPathFactory) -> DbtRun:
    """`dbt parse --target trino` with the profile's defaults: needs no Trino server, nor the
    embedded data folder."""
    work_dir = tmp_path_factory.mktemp("dbt_trino")
    return run_dbt(
        ["parse", "--target", "trino"], work_dir=work_dir, unset=("TRINO_", "LAKEHOUSE_")
    )


@pytest.fixture(scope="session")
def trino_compile(tmp_path_factory: pytest.TempPathFactory) -> DbtRun:
    """`dbt compile --target trino` without a server: no relation cache, no introspective queries,
    so the SQL each model and test would send to Trino can be read from target/compiled."""
    work_dir = tmp_path_factory.mktemp("dbt_trino_compile")
    return run_dbt(
        [
            *("compile", "--target", "trino", "--no-populate-cache", "--no-introspect"),
            # Compile the incremental branch of the silver models and gold facts (the full one
            # is a subset of it) for one business date, as a Dagster partition run does, so the
            # window predicates are compiled too; see macros/incremental.sql.
            "--vars",
            '{"compile_incremental": true, "business_date_start": "2025-03-06", '
            '"business_date_end": "2025-03-07"}',
        ],
        work_dir=work_dir,
        unset=("TRINO_", "LAKEHOUSE_"),
    )


# --- increments: the same shop delivered business date by business date --------------------------
def extra_day_rows(base: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """A later business date, 2025-03-06: customer 2 moves from Lisbon to Porto at 09:00, product
    10 goes from 10.00 to 12.00 at 10:00 and customer 2 orders it at 11:00 (order 104, paid).
    A version of product 20 valid from 2025-03-02 14:00 (renamed, same price) arrives only now:
    line 1004, ordered at 15:00 that day, must move to it although none of its rows is new."""
    ana = next(r for r in base["customers"] if r["customer_id"] == 2)
    atlas = next(r for r in base["products"] if r["product_id"] == 10)
    kettle = max(
        (r for r in base["products"] if r["product_id"] == 20), key=lambda r: r["updated_at"]
    )
    moved_at, repriced_at, ordered_at = utc(2025, 3, 6, 9), utc(2025, 3, 6, 10), utc(2025, 3, 6, 11)
    paid_at = ordered_at + timedelta(minutes=5)
    return {
        "customers": [
            {**ana, "city": "Porto", "updated_at": moved_at, "_arrived_at": later(moved_at)}
        ],
        "products": [
            {
                **atlas,
                "unit_price": Decimal("12.00"),
                "updated_at": repriced_at,
                "_arrived_at": later(repriced_at),
            },
            {
                **kettle,
                "product_name": "Kettle 1.7 l",
                "updated_at": utc(2025, 3, 2, 14),
                "_arrived_at": utc(2025, 3, 6, 8),
            },
        ],
        "orders": [
            {
                "order_id": 104,
                "customer_id": 2,
                "ordered_at": ordered_at,
                "status": status,
                "channel": "web",
                "updated_at": moment,
                "_arrived_at": later(moment),
            }
            for status, moment in [("placed", ordered_at), ("paid", paid_at)]
        ],
        "order_items": [
            {
                "order_item_id": 1007,
                "order_id": 104,
                "product_id": 10,
                "quantity": 2,
                "unit_price": Decimal("12.00"),
                "discount_amount": Decimal("1.00"),
                "created_at": ordered_at,
                "_arrived_at": later(ordered_at),
            }
        ],
        "payments": [
            {
                "payment_id": 5004,
                "order_id": 104,
                "payment_method": "card",
                "amount": Decimal("23.00"),
                "paid_at": paid_at,
                "_arrived_at": later(paid_at),
            }
        ],
    }


def merge_rows(*datasets: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return {name: [row for data in datasets for row in data[name]] for name in RAW_SCHEMAS}


def rows_arrived_in(
    rows: dict[str, list[dict[str, Any]]], start: date, end: date
) -> dict[str, list[dict[str, Any]]]:
    """The rows whose business date (UTC date of _arrived_at) is in [start, end)."""
    return {
        name: [r for r in table if start <= r["_arrived_at"].astimezone(UTC).date() < end]
        for name, table in rows.items()
    }


def append_raw(data_dir: Path, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Append ``rows`` to the raw Iceberg tables made by write_raw (one snapshot per table)."""
    catalog = get_catalog(Settings.from_env({"LAKEHOUSE_DATA_DIR": str(data_dir)}))
    for name, schema in RAW_SCHEMAS.items():
        if rows[name]:
            table = catalog.load_table(f"raw.{name}")
            table.append(pa.Table.from_pylist(rows[name], schema=schema))


# Business-date windows [start, end) delivered one after another, as Dagster partition runs would
# (several dates in one window = a backfill run); the last one is extra_day_rows.
INCREMENT_WINDOWS = [
    (date(2024, 12, 1), date(2025, 3, 1)),
    (date(2025, 3, 1), date(2025, 3, 2)),
    (date(2025, 3, 2), date(2025, 3, 3)),
    (date(2025, 3, 3), date(2025, 3, 6)),
    (date(2025, 3, 6), date(2025, 3, 7)),
]


def dump_tables(database: Path) -> dict[str, list[tuple]]:
    """Every silver and gold table of a DuckDB file, all rows sorted, columns in table order
    except ``built_at`` (when the run that wrote a row started: it differs from run to run)."""
    conn = duckdb.connect(str(database), read_only=True)
    try:
        columns = conn.execute(
            "select c.table_schema || '.' || c.table_name, "
            "string_agg(c.column_name, ', ' order by c.ordinal_position) "
            "from information_schema.columns c join information_schema.tables t "
            "using (table_catalog, table_schema, table_name) "
            "where c.table_schema in ('silver', 'gold') and t.table_type = 'BASE TABLE' "
            "and c.column_name <> 'built_at' group by 1 order by 1"
        ).fetchall()
        return {
            name: conn.execute(f"select {selected} from {name} order by all").fetchall()
            for name, selected in columns
        }
    finally:
        conn.close()


@dataclass(frozen=True)
class IncrementalRuns:
    """Tables after each incremental run, and after a full refresh over the same raw data."""

    after_window: list[dict[str, list[tuple]]]
    full_refresh: dict[str, list[tuple]]
    runs: list[DbtRun]
    rows: dict[str, list[dict[str, Any]]]
    last_build_results: list[dict[str, Any]]  # run_results of the last window's `dbt build`
    # per run: silver model -> whether its compiled SQL took the incremental branch
    incremental_branch: list[dict[str, bool]]


@pytest.fixture(scope="session")
def incremental_runs(tmp_path_factory: pytest.TempPathFactory, raw_rows) -> IncrementalRuns:
    """Deliver the shop (plus extra_day_rows) window by window, each followed by
    `dbt run --vars {business_date_start, business_date_end}` as a Dagster partition run does
    (the last one `dbt build`, with every test); then `dbt run --full-refresh` over the same raw
    tables."""
    work_dir = tmp_path_factory.mktemp("dbt_incremental")
    data_dir = work_dir / "data"
    env = {"LAKEHOUSE_PROFILE": "local", "LAKEHOUSE_DATA_DIR": str(data_dir), "TZ": "Asia/Tokyo"}
    rows = merge_rows(raw_rows, extra_day_rows(raw_rows))
    after_window, runs, branches = [], [], []
    for n, (start, end) in enumerate(INCREMENT_WINDOWS):
        increment = rows_arrived_in(rows, start, end)
        (write_raw if n == 0 else append_raw)(data_dir, increment)
        command = "build" if n == len(INCREMENT_WINDOWS) - 1 else "run"
        window = {"business_date_start": start.isoformat(), "business_date_end": end.isoformat()}
        run = run_dbt(
            [command, "--target", "local", "--vars", json.dumps(window)], work_dir=work_dir, env=env
        )
        assert run.returncode == 0, run.output
        runs.append(run)
        results = json.loads((run.target_path / "run_results.json").read_text())["results"]
        compiled = run.target_path / "compiled" / "lakehouse" / "models" / "silver"
        branches.append({p.stem: "changed_keys" in p.read_text() for p in compiled.glob("*.sql")})
        after_window.append(dump_tables(data_dir / "lakehouse.duckdb"))
    assert sum(len(t) for t in rows.values()) == sum(
        len(t) for s, e in INCREMENT_WINDOWS for t in rows_arrived_in(rows, s, e).values()
    ), "every row is delivered in exactly one window"
    full = run_dbt(["run", "--target", "local", "--full-refresh"], work_dir=work_dir, env=env)
    assert full.returncode == 0, full.output
    full_refresh = dump_tables(data_dir / "lakehouse.duckdb")
    return IncrementalRuns(after_window, full_refresh, runs, rows, results, branches)


@pytest.fixture(scope="session")
def failing_build(tmp_path_factory: pytest.TempPathFactory, raw_rows) -> DbtRun:
    """`dbt build` over the shop with one customer version in an unknown segment ('vip')."""
    work_dir = tmp_path_factory.mktemp("dbt_failing")
    data_dir = work_dir / "data"
    bad = {**raw_rows, "customers": [{**r, "segment": "vip"} if r["customer_id"] == 2 else r
                                     for r in raw_rows["customers"]]}  # fmt: skip
    write_raw(data_dir, bad)
    return run_dbt(
        ["build", "--target", "local"],
        work_dir=work_dir,
        env={"LAKEHOUSE_PROFILE": "local", "LAKEHOUSE_DATA_DIR": str(data_dir)},
    )
