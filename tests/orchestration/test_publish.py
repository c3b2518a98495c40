"""Write-audit-publish through Dagster: silver and gold as Iceberg tables after a passing build.

Two business dates run one after the other in a temporary data folder. Expected figures come from
the tables dbt built in the pipeline's DuckDB file, read here with plain DuckDB (independently of
lakehouse.publish); what is published is read back through the catalog with pyiceberg.
"""

from __future__ import annotations

import io
import subprocess
import sys
import threading
from datetime import date

import dagster as dg
import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pytest

import lakehouse
from lakehouse import rollback
from lakehouse.catalog import get_catalog
from lakehouse.layers import Layer
from lakehouse.registry import REGISTRY_TABLE, current_records, recorded_tables
from lakehouse.settings import Settings
from tests.orchestration.conftest import embedded_lakehouse

pytestmark = pytest.mark.slow

DAY1, DAY2, DAY3 = date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)
FORCE = {"ops": {"incremental_dbt_assets": {"config": {"force": True}}}}


def run(defs, instance, day: date, run_config: dict | None = None) -> dg.ExecuteInProcessResult:
    job = defs.resolve_job_def("lakehouse_job")
    return job.execute_in_process(
        instance=instance,
        partition_key=day.isoformat(),
        run_config=run_config or {},
        raise_on_error=False,
    )


def built(settings: Settings, layer: Layer) -> dict[str, list[tuple]]:
    """Every table dbt built in ``layer`` of the DuckDB file, rows sorted."""
    conn = duckdb.connect(str(settings.duckdb_path), read_only=True)
    try:
        names = conn.execute(
            "select table_name from information_schema.tables "
            "where table_schema = ? and table_type = 'BASE TABLE'",
            [layer.value],
        ).fetchall()
        return {name: sorted(conn.table(f"{layer.value}.{name}").fetchall()) for (name,) in names}
    finally:
        conn.close()


def rows(table: pa.Table) -> list[tuple]:
    return sorted(zip(*(c.to_pylist() for c in table.columns), strict=True))


def catalog_names(settings: Settings, namespace: str) -> set[str]:
    return {identifier[-1] for identifier in get_catalog(settings).list_tables(namespace)}


def registry_commits(settings: Settings) -> int:
    """Snapshots of the build registry: one per commit that published something."""
    catalog = get_catalog(settings)
    if not catalog.table_exists(REGISTRY_TABLE):
        return 0
    return len(catalog.load_table(REGISTRY_TABLE).snapshots())


@pytest.fixture(scope="module")
def published(defs, tmp_path_factory):
    """Day 1, then day 2; what dbt built after each, each run's build tag, and how many registry
    commits each run made."""
    with embedded_lakehouse(tmp_path_factory, "publish") as (settings, instance):
        gold_after, tags, commits = [], [], []
        for day in (DAY1, DAY2):
            before = registry_commits(settings)
            result = run(defs, instance, day)
            assert result.success
            commits.append(registry_commits(settings) - before)
            gold_after.append(built(settings, Layer.GOLD))
            records = recorded_tables(get_catalog(settings), result.run_id)
            assert len({r.tag for r in records.values()}) == 1
            tags.append(next(iter(records.values())).tag)
        yield settings, instance, gold_after, tags, commits


def test_a_run_publishes_all_its_tables_in_one_registry_commit(published):
    """Every silver and gold table of the run, under one build id, in one commit: the run's dbt
    steps (rebuilt models, incremental models, marts) each committed their own before."""
    settings, _, _, tags, commits = published
    assert commits == [1, 1]
    current = current_records(get_catalog(settings))
    expected = {f"{layer.value}.{name}" for layer in (Layer.SILVER, Layer.GOLD)
                for name in built(settings, layer)}  # fmt: skip
    assert set(current) == expected
    assert {r.tag for r in current.values()} == {tags[1]}


def test_catalog_lists_raw_silver_and_gold(published):
    settings, *_ = published
    assert {"customers", "products", "orders", "order_items", "payments"} <= catalog_names(
        settings, "raw"
    )
    for layer in (Layer.SILVER, Layer.GOLD):
        assert catalog_names(settings, layer.value) == set(built(settings, layer)), layer


def test_published_tables_equal_the_dbt_built_tables(published):
    settings, *_ = published
    for layer in (Layer.SILVER, Layer.GOLD):
        for name, expected in built(settings, layer).items():
            assert expected, f"{layer}.{name} is empty"
            assert rows(lakehouse.read(f"{layer.value}.{name}")) == expected, f"{layer}.{name}"


def test_each_build_is_tagged_and_recorded_once(published):
    settings, _, _, tags, _ = published
    catalog = get_catalog(settings)
    assert tags[0] != tags[1] and all(t.startswith("build-") for t in tags)
    gold = catalog.load_table("gold.daily_revenue")
    assert {tags[0], tags[1]} <= set(gold.refs())
    # one publish snapshot per build: a build id appears in one snapshot's summary (or two:
    # pyiceberg's overwrite is a delete and an append, both carrying it)
    build_ids = [s.summary.get("lakehouse.build-id") for s in gold.snapshots()]
    assert len(set(build_ids)) == 2
    current = current_records(catalog)
    assert current["gold.daily_revenue"].tag == tags[1]


def test_gold_as_of_the_previous_build_tag_gives_that_builds_figures(published):
    _, _, gold_after, tags, _ = published
    day1 = gold_after[0]["daily_revenue"]
    assert rows(lakehouse.read("gold.daily_revenue", as_of=tags[0])) == day1
    assert rows(lakehouse.read("gold.daily_revenue")) == gold_after[1]["daily_revenue"]
    assert gold_after[1]["daily_revenue"] != day1  # day 2 changed the figures
    # the same through the SQL shell (make sql AS_OF=...), which never opens the DuckDB file
    shell = subprocess.run(
        [sys.executable, "-m", "lakehouse.sql", "--as-of", tags[0], "--sql",
         "select count(*) from gold.daily_revenue"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert shell.returncode == 0, shell.stderr
    assert f"│ {len(day1):>12} │" in shell.stdout


def test_rollback_restores_the_previous_build_and_can_roll_forward(published, capsys):
    settings, _, gold_after, tags, _ = published
    table = "gold.daily_revenue"
    assert rollback.main([table, "--to", tags[0], "--yes"]) == 0
    plan = capsys.readouterr().out
    assert "after: snapshot" in plan and tags[0] in plan and "Rolled back" in plan
    assert rows(lakehouse.read(table)) == gold_after[0]["daily_revenue"]
    main_branch = get_catalog(settings).load_table(table).current_snapshot()
    assert (
        main_branch.snapshot_id
        == get_catalog(settings).load_table(table).refs()[tags[0]].snapshot_id
    )
    assert rollback.main([table, "--to", tags[1], "--yes"]) == 0
    assert rows(lakehouse.read(table)) == gold_after[1]["daily_revenue"]


def test_rollback_without_confirmation_changes_nothing(published, monkeypatch, capsys):
    _, _, gold_after, tags, _ = published
    monkeypatch.setattr(sys, "stdin", io.StringIO())  # not a terminal: nobody to ask
    assert rollback.main(["gold.daily_revenue", "--to", tags[0]]) == 1
    assert "confirm with --yes" in capsys.readouterr().err
    assert rows(lakehouse.read("gold.daily_revenue")) == gold_after[1]["daily_revenue"]


def test_a_reader_holding_the_shell_open_does_not_block_a_run(defs, published):
    """Issue 15: a reader (make sql) stays connected and queries while a run writes."""
    settings, instance, *_ = published
    reader = subprocess.Popen(
        [sys.executable, "-m", "lakehouse.sql"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    outcome: dict[str, dg.ExecuteInProcessResult] = {}
    writer = threading.Thread(target=lambda: outcome.update(run=run(defs, instance, DAY3)))
    writer.start()
    answered_during_run = 0
    while writer.is_alive():
        reader.stdin.write("select 'rows:' || count(*) as answer from gold.fct_orders;\n")
        reader.stdin.flush()
        while "rows:" not in (line := reader.stdout.readline()):
            assert line, reader.stderr.read()  # the shell died
        answered_during_run += writer.is_alive()
    writer.join()
    out, err = reader.communicate("select 'after:' || count(*) as answer from gold.fct_orders;\n")
    assert reader.returncode == 0, err
    assert outcome["run"].success
    assert answered_during_run >= 1
    assert "after:" in out
    # a shell opened after the run sees day 3's published build, which is what dbt built
    after = subprocess.run(
        [sys.executable, "-m", "lakehouse.sql", "--sql",
         "select 'after:' || count(*) as answer from gold.fct_orders"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert f"after:{len(built(settings, Layer.GOLD)['fct_orders'])} " in after.stdout


def test_a_build_whose_blocking_check_fails_publishes_nothing(defs, published):
    settings, instance, *_ = published
    catalog = get_catalog(settings)
    registry_before = current_records(catalog)
    gold_before = rows(lakehouse.read("gold.fct_orders"))
    orders = catalog.load_table("raw.orders")
    clean = orders.current_snapshot().snapshot_id
    # A planted bad row: a status outside stg_orders' accepted values (an error-level test),
    # delivered on day 2 so the forced rebuild of day 2 reads it.
    on_day2 = f"_arrived_at >= '{DAY2}T00:00:00+00:00' and _arrived_at < '{DAY3}T00:00:00+00:00'"
    day2 = orders.scan(row_filter=on_day2).to_arrow().slice(0, 1)
    orders.append(
        day2.set_column(day2.schema.get_field_index("status"), "status", pa.array(["bogus"]))
    )
    assert pc.sum(pc.equal(lakehouse.read("raw.orders")["status"], "bogus")).as_py() == 1

    result = run(defs, instance, DAY2, FORCE)

    assert not result.success
    assert current_records(catalog) == registry_before
    assert rows(lakehouse.read("gold.fct_orders")) == gold_before
    assert recorded_tables(catalog, result.run_id) == {}
    # remove the planted row again: raw rolls back like any table
    catalog.load_table("raw.orders").manage_snapshots().set_current_snapshot(clean).commit()


def test_a_run_whose_gold_check_fails_publishes_nothing_of_the_run(defs, published):
    """Silver builds and passes its tests in the incremental step; a blocking test of a gold mart
    then fails in the last step. Nothing of the run is published, silver included.

    The planted defect is in the engine's working copy (the DuckDB file dbt builds in): orders of
    the order fact marked cancelled while their lines are not. The forced rebuild of day 2
    recomputes only the orders day 2 touched, so the others stay wrong; the fact's own tests pass
    (cancelled orders need no payment), and the revenue mart, which leaves cancelled orders out,
    no longer reconciles with the line fact (assert_daily_revenue_matches_fct_order_items).
    """
    settings, instance, *_ = published
    catalog = get_catalog(settings)
    registry_before = current_records(catalog)
    silver_before = rows(lakehouse.read("silver.orders"))
    conn = duckdb.connect(str(settings.duckdb_path))
    try:
        conn.execute(
            "create table main.kept_status as select order_id, status from gold.fct_orders"
        )
        conn.execute("update gold.fct_orders set status = 'cancelled' where status <> 'cancelled'")
    finally:
        conn.close()

    result = run(defs, instance, DAY2, FORCE)

    assert not result.success
    materialized = {e.asset_key.path[0] for e in result.get_asset_materialization_events()}
    assert Layer.SILVER.value in materialized  # silver was rebuilt and audited in this run
    failed = [e for e in result.all_events if e.is_step_failure]
    assert failed and all(e.step_key != "incremental_dbt_assets" for e in failed)
    assert current_records(catalog) == registry_before
    assert recorded_tables(catalog, result.run_id) == {}
    assert rows(lakehouse.read("silver.orders")) == silver_before
    silver_orders = catalog.load_table("silver.orders")
    assert all(
        s.summary.get("lakehouse.build-id") != result.run_id for s in silver_orders.snapshots()
    )
    conn = duckdb.connect(str(settings.duckdb_path))
    try:  # put the working copy back as dbt built it
        conn.execute(
            "update gold.fct_orders set status = k.status from main.kept_status as k "
            "where fct_orders.order_id = k.order_id; drop table main.kept_status"
        )
    finally:
        conn.close()
