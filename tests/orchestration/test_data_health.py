"""The data-health assets on the embedded default: the figures they write to ``health.*`` equal
figures this test computes on its own (scanning the tables, counting the quarantine, listing the
Dagster runs), a re-run replaces them, and the laptop's dashboard views follow."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import dagster as dg
import duckdb
import pyarrow as pa
import pytest
from pyiceberg.catalog import Catalog

from analytics import views
from lakehouse.catalog import get_catalog
from lakehouse.engine import load_extensions
from lakehouse.registry import BuildRecord, record_builds
from lakehouse.settings import Settings
from orchestration.defs.health.assets import build_health_assets
from orchestration.resources import LakehouseResource
from tests.orchestration.conftest import embedded_lakehouse

GOLD_KEY = dg.AssetKey(["gold", "daily_revenue"])
QUARANTINED = [  # (source, table_name, reason)
    ("partners", "partners_stores", "store_id: not an integer"),
    ("partners", "partners_stores", "store_id: not an integer"),
    ("partners", "partners_stores", "opened_on: missing"),
    ("acme", "acme_orders", "schema drift"),
]


def append(catalog: Catalog, name: str, rows: pa.Table) -> None:
    namespace = name.split(".")[0]
    catalog.create_namespace_if_not_exists(namespace)
    catalog.create_table_if_not_exists(name, schema=rows.schema).append(rows)


@pytest.fixture
def lakehouse(tmp_path_factory):
    with embedded_lakehouse(tmp_path_factory, "data-health") as (settings, instance):
        catalog = get_catalog(settings)
        append(catalog, "raw.orders", pa.table({"order_id": [1, 2, 3]}))
        append(catalog, "raw.orders", pa.table({"order_id": [4, 5]}))
        append(
            catalog,
            "raw.quarantine",
            pa.Table.from_pylist(
                [{"source": s, "table_name": t, "reason": r} for s, t, r in QUARANTINED]
            ),
        )
        # gold at a published build of 2 rows, then an unpublished write of 3 more
        append(catalog, "gold.daily_revenue", pa.table({"net_revenue": [10.0, 20.0]}))
        published = catalog.load_table("gold.daily_revenue").current_snapshot()
        record = BuildRecord(
            "b1",
            "build-1",
            "gold.daily_revenue",
            published.snapshot_id,
            datetime.now(UTC),
            "publish",
        )
        record_builds(catalog, [record])
        append(catalog, "gold.daily_revenue", pa.table({"net_revenue": [1.0, 2.0, 3.0]}))
        yield settings, instance, catalog


def materialize_health(settings: Settings, instance: dg.DagsterInstance) -> dg.ExecuteInJobResult:
    upstream = [dg.AssetSpec(GOLD_KEY), dg.AssetSpec(dg.AssetKey(["raw", "quarantine"]))]
    resource = LakehouseResource(profile="local", data_dir=str(settings.data_dir))
    return dg.materialize(
        [*upstream, build_health_assets([GOLD_KEY])],
        instance=instance,
        resources={"lakehouse": resource},
        selection=dg.AssetSelection.groups("health"),
    )


def rows(catalog: Catalog, name: str) -> list[dict]:
    return catalog.load_table(name).scan().to_arrow().to_pylist()


def test_the_figures_equal_what_the_tables_hold(lakehouse) -> None:
    settings, instance, catalog = lakehouse

    @dg.op
    def fails() -> None:
        raise RuntimeError("planted")

    failed = dg.GraphDefinition(name="planted_failure", node_defs=[fails]).to_job()
    assert not failed.execute_in_process(instance=instance, raise_on_error=False).success
    earlier = materialize_health(settings, instance)
    result = materialize_health(settings, instance)
    assert result.success

    tables = {(r["layer"], r["table_name"]): r for r in rows(catalog, "health.tables")}
    assert set(tables) == {("raw", "orders"), ("raw", "quarantine"), ("gold", "daily_revenue")}
    raw_orders = catalog.load_table("raw.orders").scan().to_arrow().num_rows
    assert tables[("raw", "orders")]["row_count"] == raw_orders == 5
    assert tables[("raw", "quarantine")]["row_count"] == len(QUARANTINED)
    # gold counts its published build (2 rows), not the 5 rows of its newest snapshot
    assert tables[("gold", "daily_revenue")]["row_count"] == 2
    gold = catalog.load_table("gold.daily_revenue")
    assert gold.scan().to_arrow().num_rows == 5
    published = gold.snapshot_by_id(tables[("gold", "daily_revenue")]["snapshot_id"])
    assert gold.scan(snapshot_id=published.snapshot_id).to_arrow().num_rows == 2
    assert tables[("gold", "daily_revenue")]["last_updated_at"] == datetime.fromtimestamp(
        published.timestamp_ms / 1000, UTC
    ).replace(tzinfo=None)

    expected_quarantine: dict[tuple, int] = {}
    for key in QUARANTINED:
        expected_quarantine[key] = expected_quarantine.get(key, 0) + 1
    quarantine = {
        (r["source"], r["table_name"], r["reason"]): r["quarantined_rows"]
        for r in rows(catalog, "health.quarantined_rows")
    }
    assert quarantine == expected_quarantine

    # The last FINISHED run of each job: the run writing the figures is still going, so the
    # asset job shows the earlier materialization; the planted failure shows as failed.
    runs = {r["job_name"]: r for r in rows(catalog, "health.last_runs")}
    assert {job: (r["status"], r["run_id"]) for job, r in runs.items()} == {
        "planted_failure": (
            "FAILURE",
            instance.get_runs(dg.RunsFilter(job_name="planted_failure"))[0].run_id,
        ),
        earlier.dagster_run.job_name: ("SUCCESS", earlier.run_id),
    }


@contextmanager
def pipeline_file_held(settings: Settings) -> Iterator[None]:
    """The pipeline's DuckDB file opened for writing by another process, as a dbt run holds it
    (DuckDB allows one writing process per file)."""
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_FILE, str(settings.duckdb_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        yield
    finally:
        holder.communicate("")


HOLD_FILE = "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); sys.stdin.read()"


def test_a_rerun_replaces_the_figures_and_the_views_follow(lakehouse) -> None:
    settings, instance, catalog = lakehouse
    materialize_health(settings, instance)
    first = len(catalog.load_table("health.quarantined_rows").snapshots())
    with pipeline_file_held(settings):  # the views never wait on, or take, the pipeline's lock
        assert materialize_health(settings, instance).success
    table = catalog.load_table("health.quarantined_rows")
    assert len(table.snapshots()) > first  # written again ...
    assert len(rows(catalog, "health.quarantined_rows")) == 3  # ... and replaced, not appended

    # The laptop's views file was rebuilt by the asset: it shows the figures just written.
    with duckdb.connect(str(views.views_path(settings)), read_only=True) as conn:
        load_extensions(conn)
        shown = conn.execute(
            "select sum(quarantined_rows), (select row_count from health.tables "
            "where table_name = 'daily_revenue') from health.quarantined_rows"
        ).fetchone()
    assert shown == (len(QUARANTINED), 2)
    assert not [p for p in views.views_path(settings).parent.iterdir() if p.name.startswith(".")]
