"""Schema evolution end to end: a column added at the source reaches raw, bronze and silver where
the models select it, is published, and every older snapshot stays readable.

The source adds ``coupon_code`` to orders. raw.orders evolves its Iceberg schema (as dlt does for
a new column) and receives a day of rows carrying it. A copy of the dbt project selects the
column in ``stg_orders`` and ``silver.orders`` (the change a developer makes); silver is
incremental with ``on_schema_change: fail``, so the changed model is rebuilt with
``--full-refresh``, as dbt requires for a model whose columns change. Both builds are published.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.types import StringType

import lakehouse
from bench.publish import built_tables
from lakehouse.catalog import get_catalog
from lakehouse.paths import DBT_PROJECT_DIR
from lakehouse.publish import PublishedBuild, publish_build
from lakehouse.settings import Settings
from tests.transformations.conftest import DBT, extra_day_rows, shop_rows, write_raw

pytestmark = pytest.mark.slow


def dbt_build(project: Path, settings: Settings, *extra: str) -> None:
    done = subprocess.run(
        [
            str(DBT), "build", *extra, "--exclude-resource-type", "unit_test",
            "--project-dir", str(project), "--profiles-dir", str(project),
            "--target-path", str(project / "target"), "--log-path", str(project / "logs"),
        ],
        env={**os.environ, "LAKEHOUSE_DATA_DIR": str(settings.data_dir), "DO_NOT_TRACK": "1"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-5000:]


def publish(settings: Settings, build_id: str) -> PublishedBuild:
    published = publish_build(settings, build_id, built_tables(settings))
    assert published is not None
    return published


def select_coupon_code(project: Path) -> None:
    """The developer's change: bronze and silver select the new source column."""
    for path, after in (
        ("models/bronze/stg_orders.sql", "lower(trim(channel)) as channel,\n"),
        ("models/silver/orders.sql", "        channel,\n"),
    ):
        sql = (project / path).read_text()
        assert sql.count(after) == 1, path
        indent = " " * (len(after) - len(after.lstrip()))
        column = "trim(coupon_code) as coupon_code" if "bronze" in path else "coupon_code"
        (project / path).write_text(sql.replace(after, f"{after}{indent}{column},\n"))


def test_a_new_source_column_reaches_silver_and_old_snapshots_stay_readable(
    lakehouse_env: Settings, tmp_path: Path
) -> None:
    project = tmp_path / "project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    base = shop_rows()
    write_raw(lakehouse_env.data_dir, base)
    catalog = get_catalog(lakehouse_env)
    raw_orders = catalog.load_table("raw.orders")
    before_snapshot = raw_orders.current_snapshot().snapshot_id
    dbt_build(project, lakehouse_env)
    first = publish(lakehouse_env, "build-before")
    orders_before = lakehouse.read("silver.orders")

    # The source adds a column: raw's schema evolves and a new day's orders carry it.
    with raw_orders.update_schema() as update:
        update.add_column("coupon_code", StringType())
    new_day = extra_day_rows(base)["orders"]
    assert new_day, "the extra day delivers orders"
    coupons = [{**row, "coupon_code": " SPRING24 "} for row in new_day]
    schema = raw_orders.schema().as_arrow()
    raw_orders.append(pa.Table.from_pylist(coupons, schema=schema))

    select_coupon_code(project)
    dbt_build(project, lakehouse_env, "--full-refresh")
    second = publish(lakehouse_env, "build-after")

    orders = lakehouse.read("silver.orders")
    assert "coupon_code" in orders.column_names
    by_id = dict(
        zip(orders["order_id"].to_pylist(), orders["coupon_code"].to_pylist(), strict=True)
    )
    new_ids = {row["order_id"] for row in new_day}
    assert {by_id[i] for i in new_ids} == {"SPRING24"}  # trimmed by bronze
    assert all(by_id[i] is None for i in by_id if i not in new_ids)  # older orders: no coupon

    # Old snapshots stay readable, in their own schema: silver by the first build's tag, raw by
    # its snapshot id from before the column existed.
    old = lakehouse.read("silver.orders", as_of=first.tag)
    assert "coupon_code" not in old.column_names
    assert old.sort_by("order_id").equals(orders_before.sort_by("order_id"))
    old_raw = lakehouse.read("raw.orders", as_of=before_snapshot)
    assert "coupon_code" not in old_raw.column_names
    assert old_raw.num_rows == len(base["orders"])
    # gold, whose contract does not select the column, was published by both builds
    assert second.snapshots["gold.fct_orders"] != first.snapshots["gold.fct_orders"]
