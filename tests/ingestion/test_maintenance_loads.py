"""Maintenance against real dlt loads on the embedded default: 30 daily loads end with a bounded
number of files and still exactly once, and a load SIGKILLed right after its Iceberg commit and
resumed after a maintenance pass (compaction, then expiry of everything expirable) commits once.

The kill uses the harness of tests/integration/test_exactly_once.py (``tests.integration.shop_load``
with ``KILL_AFTER_ICEBERG_APPEND``), here on the embedded profile, where pyiceberg maintains.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from ingestion.iceberg_files import JOB_ID_PROPERTY, committed_jobs
from ingestion.pending import needed_by_pending_load, pending_load_ids
from ingestion.pipeline import make_pipeline
from ingestion.shop import shop
from ingestion.shop.generator import SCHEMAS, TABLES, ShopSimulator
from ingestion.shop.settings import START_DATE
from lakehouse.catalog import get_catalog
from lakehouse.maintenance.expire import expirable_snapshot_ids
from lakehouse.maintenance.health import table_health
from lakehouse.maintenance.policy import MaintenancePolicy
from lakehouse.maintenance.run import maintain_catalog
from lakehouse.paths import REPO_ROOT
from lakehouse.settings import Settings
from tests.integration.shop_load import KILL_AFTER_ICEBERG_APPEND

pytestmark = pytest.mark.slow

SCALE_FACTOR = 0.05
DAYS = 30
# Everything old enough goes: no retention, no safety window (nothing else writes here).
AGGRESSIVE = MaintenancePolicy(
    max_snapshot_age=timedelta(0),
    min_snapshots_to_keep=1,
    min_input_files=2,
    orphan_min_age=timedelta(0),
)


def rows(table: pa.Table, name: str) -> Counter:
    return Counter(tuple(sorted(r.items())) for r in table.select(SCHEMAS[name].names).to_pylist())


def assert_exactly(settings: Settings, days: list) -> None:
    catalog = get_catalog(settings)
    simulator = ShopSimulator(scale_factor=SCALE_FACTOR)
    for name in TABLES:
        landed = catalog.load_table(("raw", name)).scan().to_arrow()
        generated = pa.concat_tables(simulator.read(name, day) for day in days)
        assert landed.num_rows == generated.num_rows, name
        assert rows(landed, name) == rows(generated, name), name


def test_thirty_daily_loads_then_maintenance_bounded_and_exactly_once(
    lakehouse_env: Settings,
) -> None:
    days = [START_DATE + timedelta(days=n) for n in range(DAYS)]
    pipeline = make_pipeline(lakehouse_env)
    for day in days:
        pipeline.run(shop(day, scale_factor=SCALE_FACTOR))
    catalog = get_catalog(lakehouse_env)

    reports = maintain_catalog(
        catalog, lambda _: AGGRESSIVE, datetime.now(UTC), keep=lambda _: False
    )

    for report in reports:
        assert report.error is None, report.summary()
        print(report.summary())
        assert report.before.data_files >= DAYS - 10  # products changes on most days only
        assert report.after.data_files == 1  # unpartitioned raw tables: one file each
        assert report.after.snapshots <= 3
    assert {r.table for r in reports} == {f"raw.{t}" for t in TABLES}
    assert_exactly(lakehouse_env, days)

    # Re-running a loaded date after the expiry: the ledger skips it, nothing is appended.
    pipeline.run(shop(days[10], scale_factor=SCALE_FACTOR))
    assert_exactly(lakehouse_env, days)
    # The next date loads normally on top of the compacted tables.
    pipeline.run(shop(days[-1] + timedelta(days=1), scale_factor=SCALE_FACTOR))
    assert_exactly(lakehouse_env, [*days, days[-1] + timedelta(days=1)])


def start_load(env: dict[str, str], day: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.shop_load", day, str(SCALE_FACTOR)],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def test_load_killed_after_its_commit_and_resumed_after_maintenance_commits_once(
    lakehouse_env: Settings, tmp_path: Path
) -> None:
    env = {"LAKEHOUSE_PROFILE": "local", "LAKEHOUSE_DATA_DIR": str(lakehouse_env.data_dir)}
    d0, d1 = START_DATE, START_DATE + timedelta(days=1)
    appended = "order_items"
    log = tmp_path / "load.log"
    first = start_load(env, d0.isoformat(), log)
    assert first.wait(timeout=180) == 0, log.read_text()[-3000:]

    # 1. d1's load SIGKILLs itself right after order_items' rows are committed to Iceberg.
    killed = start_load({**env, KILL_AFTER_ICEBERG_APPEND: appended}, d1.isoformat(), log)
    assert killed.wait(timeout=180) == -signal.SIGKILL, log.read_text()[-3000:]
    catalog = get_catalog(lakehouse_env)
    table = catalog.load_table(("raw", appended))
    pending = pending_load_ids(lakehouse_env)
    assert len(pending) == 1, "the killed load is not pending: the test proves nothing"
    (marker,) = [m for m in committed_jobs(table) if m[0] in pending]
    keep = needed_by_pending_load(pending)

    # 2. The nightly pass: compaction makes the marker's snapshot old history, then expiry.
    reports = maintain_catalog(catalog, lambda _: AGGRESSIVE, datetime.now(UTC), keep)
    assert all(r.error is None for r in reports), [r.summary() for r in reports]
    table = catalog.load_table(("raw", appended))
    assert table_health(table, AGGRESSIVE).data_files == 1  # compacted
    assert marker in committed_jobs(table)  # kept for the pending load
    # Without the pending load's protection that snapshot would have been expired.
    marked = [s.snapshot_id for s in table.snapshots() if keep(s)]
    assert marked and set(marked) <= set(
        expirable_snapshot_ids(table, AGGRESSIVE, datetime.now(UTC) + timedelta(seconds=1))
    )

    # 3. Resume: dlt reruns the started job; the destination finds its marker and skips it.
    resumed = start_load(env, d1.isoformat(), log)
    assert resumed.wait(timeout=180) == 0, log.read_text()[-3000:]
    assert "not appending it again" in log.read_text()
    assert pending_load_ids(lakehouse_env) == frozenset()
    assert_exactly(lakehouse_env, [d0, d1])
    jobs = [
        s.summary[JOB_ID_PROPERTY]
        for s in catalog.load_table(("raw", appended)).snapshots()
        if s.summary is not None and s.summary.get(JOB_ID_PROPERTY)
    ]
    assert jobs.count(marker[1]) == 1
