"""Publish, read and roll back on small tables (no dbt, no Dagster): the module's own rules.

The "build" is a DuckDB file written here, as dbt-duckdb leaves it, or, for the cluster path,
Iceberg tables in ``<layer>_staging`` as dbt-trino leaves them; expectations are the rows written.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from pyiceberg.exceptions import ValidationError
from pyiceberg.expressions import GreaterThanOrEqual

import lakehouse
from lakehouse import rollback
from lakehouse.catalog import get_catalog
from lakehouse.engine import load_extensions
from lakehouse.layers import STAGING_SUFFIX
from lakehouse.maintenance.policy import DEFAULT_POLICY
from lakehouse.maintenance.run import maintain_catalog
from lakehouse.publish import publish_build
from lakehouse.reading import ReadError, relation
from lakehouse.registry import REGISTRY_TABLE, current_records
from lakehouse.settings import Settings


def build(settings: Settings, sql: str) -> None:
    """Write ``sql`` into the pipeline's DuckDB file, as a dbt build would."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    conn = duckdb.connect(str(settings.duckdb_path))
    try:
        conn.execute("create schema if not exists silver; create schema if not exists gold")
        conn.execute(sql)
    finally:
        conn.close()


def rows(table: pa.Table) -> list[tuple]:
    return sorted(zip(*(c.to_pylist() for c in table.columns), strict=True))


FIRST = """
create or replace table gold.revenue as
    select * from (values (date '2024-01-01', 10.50::decimal(18, 2)),
                          (date '2024-01-02', 7.25::decimal(18, 2))) t(order_date, net_revenue);
create or replace table silver.orders as select range as order_id from range(3);
"""
BOTH = [["gold", "revenue"], ["silver", "orders"]]


def test_publish_makes_tables_readable_through_the_catalog(lakehouse_env: Settings) -> None:
    build(lakehouse_env, FIRST)
    published = publish_build(lakehouse_env, "run-1", [*BOTH, ["bronze", "stg_orders"]])
    assert published is not None and set(published.snapshots) == {"gold.revenue", "silver.orders"}
    assert rows(lakehouse.read("gold.revenue")) == [
        (date(2024, 1, 1), Decimal("10.50")),
        (date(2024, 1, 2), Decimal("7.25")),
    ]
    assert rows(lakehouse.read("silver.orders")) == [(0,), (1,), (2,)]
    table = get_catalog(lakehouse_env).load_table("gold.revenue")
    assert table.refs()[published.tag].snapshot_id == published.snapshots["gold.revenue"]


def test_a_selection_without_silver_or_gold_publishes_nothing(lakehouse_env: Settings) -> None:
    build(lakehouse_env, FIRST)
    assert (
        publish_build(lakehouse_env, "run-1", [["bronze", "stg_orders"], ["raw", "orders"]]) is None
    )
    with pytest.raises(ReadError, match="no such table"):
        lakehouse.read("gold.revenue")


def test_publishing_a_build_again_writes_nothing_twice(lakehouse_env: Settings) -> None:
    build(lakehouse_env, FIRST)
    first = publish_build(lakehouse_env, "run-1", BOTH)
    catalog = get_catalog(lakehouse_env)
    snapshots = len(catalog.load_table("gold.revenue").snapshots())
    registry_rows = catalog.load_table(REGISTRY_TABLE).scan().to_arrow().num_rows
    again = publish_build(lakehouse_env, "run-1", BOTH)  # a retried step
    assert again == first
    assert len(catalog.load_table("gold.revenue").snapshots()) == snapshots
    assert catalog.load_table(REGISTRY_TABLE).scan().to_arrow().num_rows == registry_rows == 2


def test_readers_never_see_half_a_build(lakehouse_env: Settings) -> None:
    """pyiceberg commits table by table: a publish that fails after the first table leaves that
    table's main branch ahead, but lakehouse.read resolves the registry and sees build 1 whole."""
    build(lakehouse_env, FIRST)
    publish_build(lakehouse_env, "run-1", BOTH)
    build(
        lakehouse_env,
        "insert into gold.revenue values (date '2024-01-03', 1); drop table silver.orders",
    )
    with pytest.raises(duckdb.CatalogException):  # silver.orders is missing from the build
        publish_build(lakehouse_env, "run-2", BOTH)
    catalog = get_catalog(lakehouse_env)
    assert catalog.load_table("gold.revenue").scan().to_arrow().num_rows == 3  # main moved
    assert lakehouse.read("gold.revenue").num_rows == 2  # the published build did not
    assert {r.build_id for r in current_records(catalog).values()} == {"run-1"}


def test_schema_evolution_keeps_old_snapshots_readable(lakehouse_env: Settings) -> None:
    build(lakehouse_env, FIRST)
    first = publish_build(lakehouse_env, "run-1", BOTH)
    build(lakehouse_env, "alter table silver.orders add column channel varchar default 'web'")
    second = publish_build(lakehouse_env, "run-2", BOTH)
    assert rows(lakehouse.read("silver.orders")) == [(0, "web"), (1, "web"), (2, "web")]
    old = lakehouse.read("silver.orders", as_of=first.tag)
    assert old.column_names == ["order_id"] and rows(old) == [(0,), (1,), (2,)]
    by_id = lakehouse.read("silver.orders", as_of=str(second.snapshots["silver.orders"]))
    assert by_id.column_names == ["order_id", "channel"]


def test_a_type_change_iceberg_cannot_promote_publishes_nothing(lakehouse_env: Settings) -> None:
    build(lakehouse_env, FIRST)
    publish_build(lakehouse_env, "run-1", BOTH)
    build(lakehouse_env, "create or replace table silver.orders as select 'x' as order_id")
    with pytest.raises(
        ValidationError, match="Cannot change column type: order_id: long -> string"
    ):
        publish_build(lakehouse_env, "run-2", [["silver", "orders"]])
    assert rows(lakehouse.read("silver.orders")) == [(0,), (1,), (2,)]
    assert len(get_catalog(lakehouse_env).load_table("silver.orders").snapshots()) == 1


def test_as_of_a_timestamp_reads_the_build_current_then(lakehouse_env: Settings) -> None:
    build(lakehouse_env, FIRST)
    publish_build(lakehouse_env, "run-1", BOTH)
    between = datetime.now(UTC)
    build(lakehouse_env, "insert into gold.revenue values (date '2024-01-03', 1)")
    publish_build(lakehouse_env, "run-2", BOTH)
    assert lakehouse.read("gold.revenue", as_of=between).num_rows == 2
    assert lakehouse.read("gold.revenue", as_of=between.isoformat()).num_rows == 2
    assert lakehouse.read("gold.revenue").num_rows == 3
    with pytest.raises(ReadError, match=r"no tag or branch 'nope' \(it has: build-"):
        lakehouse.read("gold.revenue", as_of="nope")
    with pytest.raises(ReadError, match="no snapshot 12345"):
        lakehouse.read("gold.revenue", as_of=12345)


def test_rollback_of_an_unknown_tag_changes_nothing(lakehouse_env: Settings, capsys) -> None:
    build(lakehouse_env, FIRST)
    publish_build(lakehouse_env, "run-1", BOTH)
    assert rollback.main(["gold.revenue", "--to", "build-1999-01-01-x", "--yes"]) == 2
    assert "has no tag or branch 'build-1999-01-01-x'" in capsys.readouterr().err
    assert lakehouse.read("gold.revenue").num_rows == 2


def test_cluster_path_publishes_the_staging_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """LAKEHOUSE_PROFILE=k8s with a SQL catalog over a file warehouse: the staging tables (what
    dbt-trino builds and tests) are published by the same code as on the embedded default."""
    for name, value in {
        "LAKEHOUSE_PROFILE": "k8s",
        "LAKEHOUSE_DATA_DIR": str(tmp_path / "data"),
        "ICEBERG_SQL_CATALOG_URI": f"sqlite:///{tmp_path / 'catalog.db'}",
        "LAKEHOUSE_WAREHOUSE_URI": (tmp_path / "warehouse").as_uri(),
        "S3_ENDPOINT": "http://127.0.0.1:9",  # not used: the warehouse is a folder
        "AWS_ACCESS_KEY_ID": "unused",
        "AWS_SECRET_ACCESS_KEY": "unused",
    }.items():
        monkeypatch.setenv(name, value)
    settings = Settings.from_env()
    catalog = get_catalog(settings)
    catalog.create_namespace(f"gold{STAGING_SUFFIX}")
    staged = pa.table({"order_date": ["2024-01-01"], "orders": pa.array([4], pa.int64())})
    catalog.create_table(f"gold{STAGING_SUFFIX}.daily_revenue", schema=staged.schema).append(staged)
    published = publish_build(settings, "cluster-run", [["gold", "daily_revenue"]])
    assert published is not None
    assert rows(lakehouse.read("gold.daily_revenue", settings=settings)) == [("2024-01-01", 4)]


def test_relation_reads_lazily_in_duckdb_as_of_a_tag(lakehouse_env: Settings) -> None:
    build(lakehouse_env, FIRST)
    first = publish_build(lakehouse_env, "run-1", BOTH)
    build(lakehouse_env, "insert into gold.revenue values (date '2024-01-03', 1)")
    publish_build(lakehouse_env, "run-2", BOTH)
    conn = duckdb.connect()
    load_extensions(conn)
    then = relation(conn, "gold.revenue", as_of=first.tag)
    assert then.aggregate("count(*), sum(net_revenue)").fetchall() == [(2, Decimal("17.75"))]
    assert relation(conn, "gold.revenue").aggregate("count(*)").fetchall() == [(3,)]


def test_build_tags_age_out_and_what_readers_need_stays(lakehouse_env: Settings) -> None:
    """30 daily builds, then the nightly maintenance with the default policy, 60 days on: only
    the newest build tags stay, the published build and every remaining tag still read, with the
    rows each build wrote (pyiceberg's own tables, snapshots and files after expiry and sweep)."""
    builds, keep = 30, DEFAULT_POLICY.min_build_tags_to_keep
    tags, published_at = [], []
    for day in range(builds):
        build(lakehouse_env, f"create or replace table gold.revenue as select {day} as day")
        tags.append(publish_build(lakehouse_env, f"run-{day:02d}", [["gold", "revenue"]]).tag)
        published_at.append(datetime.now(UTC))
    catalog = get_catalog(lakehouse_env)
    assert set(tags) <= set(catalog.load_table("gold.revenue").refs())
    later = datetime.now(UTC) + timedelta(days=60)

    reports = maintain_catalog(catalog, lambda _: DEFAULT_POLICY, later, lambda _: False)

    assert all(r.error is None for r in reports), [r.summary() for r in reports]
    table = catalog.load_table("gold.revenue")
    kept = sorted(name for name in table.refs() if name.startswith("build-"))
    assert keep == 7 and kept == sorted(tags[-keep:])
    assert len(table.snapshots()) <= DEFAULT_POLICY.min_snapshots_to_keep + keep
    assert lakehouse.read("gold.revenue").to_pylist() == [{"day": builds - 1}]
    for day in range(builds - keep, builds):
        assert lakehouse.read("gold.revenue", as_of=tags[day]).to_pylist() == [{"day": day}]
    with pytest.raises(ReadError, match="no tag or branch"):
        lakehouse.read("gold.revenue", as_of=tags[0])
    with pytest.raises(ReadError, match=rf"\({tags[0]}\) has expired; tags left: build-"):
        lakehouse.read("gold.revenue", as_of=published_at[0])
    assert lakehouse.read("gold.revenue", as_of=published_at[-1]).to_pylist() == [{"day": 29}]


def tag_of(settings: Settings, snapshot_id: int) -> str:
    refs = get_catalog(settings).load_table("gold.revenue").refs()
    return next(
        name for name, ref in refs.items() if name != "main" and ref.snapshot_id == snapshot_id
    )


def test_tag_ageing_keeps_the_build_the_registry_publishes(lakehouse_env: Settings) -> None:
    """After a rollback the registry publishes an old build: its tag and snapshot outlive
    maintenance that keeps a single build tag, and it still reads."""
    tags = []
    for day in range(5):
        build(lakehouse_env, f"create or replace table gold.revenue as select {day} as day")
        published = publish_build(lakehouse_env, f"run-{day}", [["gold", "revenue"]])
        tags.append(tag_of(lakehouse_env, published.snapshots["gold.revenue"]))
    rollback.rollback("gold.revenue", tags[1], settings=lakehouse_env)
    catalog = get_catalog(lakehouse_env)
    policy = replace(DEFAULT_POLICY, min_build_tags_to_keep=1)
    later = datetime.now(UTC) + timedelta(days=60)

    maintain_catalog(catalog, lambda _: policy, later, lambda _: False)

    table = catalog.load_table("gold.revenue")
    assert sorted(n for n in table.refs() if n.startswith("build-")) == sorted([tags[1], tags[4]])
    assert lakehouse.read("gold.revenue").to_pylist() == [{"day": 1}]
    assert lakehouse.read("gold.revenue", as_of=tags[4]).to_pylist() == [{"day": 4}]


# Incremental tables: rows marked with the start of the dbt run that wrote them (macro built_at);
# a run's delete+insert replaces a touched key's rows with rows of its own mark.
KEYS = {"silver.orders": "order_id"}
ORDERS = [["silver", "orders"]]


def incremental_build(settings: Settings, keys: str, status: str, built_at: str) -> None:
    """dbt's delete+insert of the keys in ``keys`` (a DuckDB range), marked ``built_at``."""
    build(
        settings,
        "create table if not exists silver.orders "
        "(order_id bigint, status varchar, built_at timestamp);"
        f"delete from silver.orders where order_id in (select range from {keys});"
        f"insert into silver.orders select range, '{status}', timestamp '{built_at}' from {keys}",
    )


def build_rows(settings: Settings) -> list[tuple]:
    """The build's rows, read from the DuckDB file (not through the publish code)."""
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        return sorted(conn.execute("select * from silver.orders").fetchall())


def test_an_incremental_table_publishes_only_what_its_build_changed(
    lakehouse_env: Settings,
) -> None:
    """Day 1 writes keys 0-499 and day 2 adds 500-999, each published; day 3 changes 995-999 and
    adds 1000-1009. Its publish rewrites the file holding 995 and appends the new keys: the file
    of day 1 stays as it was, and the table equals the build."""
    incremental_build(lakehouse_env, "range(0, 500)", "placed", "2024-01-01 01:00:00")
    publish_build(lakehouse_env, "run-1", ORDERS, KEYS)
    incremental_build(lakehouse_env, "range(500, 1000)", "placed", "2024-01-02 01:00:00")
    publish_build(lakehouse_env, "run-2", ORDERS, KEYS)
    table = get_catalog(lakehouse_env).load_table("silver.orders")
    day_1_file = {
        task.file.file_path
        for task in table.scan(snapshot_id=table.snapshots()[0].snapshot_id).plan_files()
    }
    incremental_build(lakehouse_env, "range(995, 1010)", "shipped", "2024-01-03 01:00:00")
    third = publish_build(lakehouse_env, "run-3", ORDERS, KEYS)

    assert rows(lakehouse.read("silver.orders")) == build_rows(lakehouse_env)
    assert len(build_rows(lakehouse_env)) == 1010
    table = get_catalog(lakehouse_env).load_table("silver.orders")
    files = {task.file.file_path for task in table.scan().plan_files()}
    assert day_1_file <= files  # keys 0-499 were not written again
    run_3 = [s for s in table.snapshots() if s.summary.get("lakehouse.build-id") == "run-3"]
    written = sum(int(s.summary.get("added-records", 0)) for s in run_3)
    assert written == 500 + 10  # the rewritten file of keys 500-999, and the 10 new keys
    assert third.snapshots["silver.orders"] == run_3[-1].snapshot_id


def test_a_retried_incremental_publish_writes_nothing_twice(lakehouse_env: Settings) -> None:
    incremental_build(lakehouse_env, "range(0, 100)", "placed", "2024-01-01 01:00:00")
    publish_build(lakehouse_env, "run-1", ORDERS, KEYS)
    incremental_build(lakehouse_env, "range(90, 120)", "paid", "2024-01-02 01:00:00")
    second = publish_build(lakehouse_env, "run-2", ORDERS, KEYS)
    catalog = get_catalog(lakehouse_env)
    snapshots = len(catalog.load_table("silver.orders").snapshots())
    assert publish_build(lakehouse_env, "run-2", ORDERS, KEYS) == second  # a retried step
    assert len(catalog.load_table("silver.orders").snapshots()) == snapshots
    assert rows(lakehouse.read("silver.orders")) == build_rows(lakehouse_env)
    assert len(build_rows(lakehouse_env)) == 120


def test_a_build_that_changed_nothing_writes_no_snapshot(lakehouse_env: Settings) -> None:
    incremental_build(lakehouse_env, "range(0, 100)", "placed", "2024-01-01 01:00:00")
    first = publish_build(lakehouse_env, "run-1", ORDERS, KEYS)
    second = publish_build(lakehouse_env, "run-2", ORDERS, KEYS)
    assert second.snapshots == first.snapshots
    assert len(get_catalog(lakehouse_env).load_table("silver.orders").snapshots()) == 1
    assert {r.build_id for r in current_records(get_catalog(lakehouse_env)).values()} == {"run-2"}


def test_rows_removed_without_a_mark_are_published_whole(lakehouse_env: Settings) -> None:
    """A key deleted and not written again has no marked row to find: the row count after the
    partial publish differs from the build's, and the table is published whole."""
    incremental_build(lakehouse_env, "range(0, 100)", "placed", "2024-01-01 01:00:00")
    publish_build(lakehouse_env, "run-1", ORDERS, KEYS)
    build(lakehouse_env, "delete from silver.orders where order_id = 3")
    incremental_build(lakehouse_env, "range(98, 102)", "paid", "2024-01-02 01:00:00")
    publish_build(lakehouse_env, "run-2", ORDERS, KEYS)
    assert rows(lakehouse.read("silver.orders")) == build_rows(lakehouse_env)
    assert 3 not in {row[0] for row in build_rows(lakehouse_env)}


def test_a_publish_cut_off_before_its_whole_rewrite_is_completed_by_the_retry(
    lakehouse_env: Settings,
) -> None:
    """An unmarked delete makes the partial publish's count differ, and the publish rewrites the
    table whole in a second commit; cut off between the two, the table's newest snapshot of the
    build holds the deleted row. The retried step must not take that snapshot for the build."""
    incremental_build(lakehouse_env, "range(0, 100)", "placed", "2024-01-01 01:00:00")
    publish_build(lakehouse_env, "run-1", ORDERS, KEYS)
    build(lakehouse_env, "delete from silver.orders where order_id = 3")
    incremental_build(lakehouse_env, "range(98, 102)", "paid", "2024-01-02 01:00:00")
    table = get_catalog(lakehouse_env).load_table("silver.orders")
    with duckdb.connect(str(lakehouse_env.duckdb_path), read_only=True) as conn:
        changed = conn.execute("select * from silver.orders where order_id >= 98").arrow()
    changed = changed.cast(table.schema().as_arrow())
    # The first of the two commits, as write_changed_rows makes it, then the step dies.
    table.overwrite(
        changed,
        overwrite_filter=GreaterThanOrEqual("order_id", 98),
        snapshot_properties={"lakehouse.build-id": "run-2"},
    )
    cut_off = table.current_snapshot().snapshot_id
    assert 3 in {row[0] for row in rows(table.scan().to_arrow())}

    retried = publish_build(lakehouse_env, "run-2", ORDERS, KEYS)
    assert rows(lakehouse.read("silver.orders")) == build_rows(lakehouse_env)
    assert retried.snapshots["silver.orders"] != cut_off


def test_the_build_is_read_under_the_publish_memory_cap(
    lakehouse_env: Settings, monkeypatch
) -> None:
    """The publish sorts a table's first publish whole in DuckDB, in the step's own process:
    uncapped (DuckDB takes 80% of the RAM) that process reached 3.8 GB at scale 48, and 2.2 GB
    under dbt's 1GB cap. Its own cap is smaller than dbt's, and set apart from it."""
    from lakehouse.publish import build_source

    assert Settings.from_env({}).publish_memory_limit == "256MB"
    monkeypatch.setenv("LAKEHOUSE_DUCKDB_MEMORY_LIMIT", "2GB")  # dbt's
    monkeypatch.setenv("LAKEHOUSE_PUBLISH_MEMORY_LIMIT", "128MB")
    settings = Settings.from_env()
    build(settings, "create table silver.t as select 1 as id")
    with build_source(settings, get_catalog(settings)) as source:
        cap = source.conn.execute("select current_setting('memory_limit')").fetchone()[0]
    assert cap == "122.0 MiB"  # 128 MB as DuckDB reports it, not dbt's 2GB
