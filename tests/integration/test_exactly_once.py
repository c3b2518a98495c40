"""Exactly once with real processes, on real S3 (SeaweedFS) with the SQL catalog.

* a load SIGKILLed in the middle of its load step and started again ends with every row once,
  and the ledger neither skips nor repeats a date;
* a load SIGKILLed right after an append table's Iceberg commit, before dlt marked the job
  complete, appends nothing again when it resumes (``ingestion.iceberg_files``);
* a load SIGKILLed after its first table's commit, on a pod whose working folder is then lost,
  is rolled back and loaded again in full: every table ends with the generator's rows once;
* two processes committing to one Iceberg table at once both succeed (the loser of each race
  retries through ``tests/integration/commits.py commit_with_retry``) and no commit is lost.

Re-running a loaded date is in test_dlt_s3_sql_catalog.py (content hashes unchanged).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from pyiceberg.exceptions import CommitFailedException

from ingestion.destination import file_job_id, iceberg_destination
from ingestion.iceberg_files import JOB_ID_PROPERTY, committed_jobs
from ingestion.pipeline import PIPELINE_NAME
from ingestion.shop import LEDGER_KEY
from ingestion.shop.generator import SCHEMAS, TABLES, ShopSimulator
from ingestion.shop.settings import START_DATE
from lakehouse.catalog import ensure_namespace, get_catalog
from lakehouse.layers import Layer
from lakehouse.paths import REPO_ROOT
from lakehouse.settings import Settings
from tests.integration.commits import CommitRetriesExhausted, commit_with_retry
from tests.integration.seaweed import SeaweedFS
from tests.integration.shop_load import KILL_AFTER_ICEBERG_APPEND

pytestmark = pytest.mark.integration

SCALE_FACTOR = 1.0
D1, D2 = START_DATE + timedelta(days=1), START_DATE + timedelta(days=2)
PROCESS_TIMEOUT = 180
NO_BUILTIN_RETRY = {"commit.retry.num-retries": "0"}


def _start(module: str, env: dict[str, str], *args: str, log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", module, *args],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )


def _finish(process: subprocess.Popen[bytes], log: Path) -> str:
    process.wait(timeout=PROCESS_TIMEOUT)
    output = log.read_text(errors="replace")
    assert process.returncode == 0, output[-4000:]
    return output


def _pending_packages(load_dir: Path) -> list[Path]:
    """Load packages dlt would still load: the folders under normalized/. A file there is the
    temp file of a write the SIGKILL cut short (dlt writes package state through a temp file in
    that folder); dlt lists only folders as packages, so it is inert."""
    return [entry for entry in load_dir.glob("normalized/*") if entry.is_dir()]


def _completed_data_jobs(load_dir: Path) -> list[Path]:
    return [
        job
        for job in load_dir.glob("normalized/*/completed_jobs/*")
        if not job.name.startswith("_dlt")
    ]


def _rows(table: pa.Table, name: str) -> Counter:
    return Counter(tuple(sorted(r.items())) for r in table.select(SCHEMAS[name].names).to_pylist())


def _load_killed_after_commit(
    env: dict[str, str], day: str, table: str, log: Path, **extra_env: str
) -> None:
    """A shop load of ``day`` that SIGKILLs itself right after ``table``'s append commit."""
    killed = _start(
        "tests.integration.shop_load",
        {**env, KILL_AFTER_ICEBERG_APPEND: table, **extra_env},
        day,
        "1.0",
        log=log,
    )
    killed.wait(timeout=PROCESS_TIMEOUT)
    assert killed.returncode == -signal.SIGKILL, log.read_text(errors="replace")[-3000:]


def _assert_generated_rows_once(settings: Settings, days: tuple) -> None:
    """Every raw table holds exactly the generator's rows of ``days``, each once."""
    catalog, simulator = get_catalog(settings), ShopSimulator(scale_factor=SCALE_FACTOR)
    for name in TABLES:
        landed = catalog.load_table(("raw", name)).scan().to_arrow()
        generated = pa.concat_tables(simulator.read(name, day) for day in days)
        assert landed.num_rows == generated.num_rows, name
        assert _rows(landed, name) == _rows(generated, name), name


@pytest.fixture
def s3_env(seaweedfs: SeaweedFS, tmp_path: Path) -> dict[str, str]:
    return seaweedfs.sql_catalog_env(tmp_path / "data", f"eo-{uuid.uuid4().hex[:8]}")


def test_load_killed_mid_load_ends_with_every_row_once(s3_env: dict[str, str], tmp_path: Path):
    settings = Settings.from_env(s3_env)
    load_dir = settings.dlt_pipelines_dir / PIPELINE_NAME / "load"
    log = tmp_path / "load.log"

    # 1. Start the load of D1 and SIGKILL it once the first data table is committed.
    process = _start("tests.integration.shop_load", s3_env, D1.isoformat(), "1.0", log=log)
    deadline = time.monotonic() + PROCESS_TIMEOUT
    while not _completed_data_jobs(load_dir):
        assert process.poll() is None, (
            "the load finished before it could be killed:\n"
            + (log.read_text(errors="replace")[-3000:])
        )
        assert time.monotonic() < deadline, "no table was loaded in time"
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    # The package was cut off half-way: some tables are in, the rest still pending.
    pending = list(load_dir.glob("normalized/*/new_jobs/*")) + list(
        load_dir.glob("normalized/*/started_jobs/*")
    )
    assert pending, "the kill came after the load step: nothing left to recover"

    # 2. Start it again: dlt finishes the pending package; the ledger says D1 is in.
    _finish(_start("tests.integration.shop_load", s3_env, D1.isoformat(), "1.0", log=log), log)
    assert not _pending_packages(load_dir), "a load package was left pending"
    # 3. The next date loads normally: the ledger and cursor skipped nothing.
    _finish(_start("tests.integration.shop_load", s3_env, D2.isoformat(), "1.0", log=log), log)

    _assert_generated_rows_once(settings, (D1, D2))

    import dlt

    # the project's destination is a closure over settings: dlt cannot rebuild it from state alone
    destination = iceberg_destination(settings, Layer.RAW.value)
    pipeline = dlt.attach(
        PIPELINE_NAME, pipelines_dir=str(settings.dlt_pipelines_dir), destination=destination
    )
    resources = pipeline.state["sources"]["shop"]["resources"]
    for name in TABLES:
        assert resources[name][LEDGER_KEY] == [D1.isoformat(), D2.isoformat()], name


def test_load_killed_right_after_an_append_commit_appends_nothing_twice(
    s3_env: dict[str, str], tmp_path: Path
) -> None:
    settings = Settings.from_env(s3_env)
    load_dir = settings.dlt_pipelines_dir / PIPELINE_NAME / "load"
    log = tmp_path / "load.log"
    appended = "order_items"  # an append table (merge tables upsert: a repeat is harmless)

    # 1. The process SIGKILLs itself right after order_items' rows are committed to Iceberg.
    _load_killed_after_commit(s3_env, D1.isoformat(), appended, log)
    catalog = get_catalog(settings)
    ((load_id, job_id),) = committed_jobs(catalog.load_table(("raw", appended)))
    # The window: the rows are in the table, but dlt still has the job as started, not completed.
    started = load_dir.glob(f"normalized/{load_id}/started_jobs/*")
    assert job_id in {file_job_id(appended, str(p)) for p in started}

    # 2. Resume: dlt runs the started job again; the destination sees its marker and skips it.
    output = _finish(
        _start("tests.integration.shop_load", s3_env, D1.isoformat(), "1.0", log=log), log
    )
    assert not _pending_packages(load_dir), "a load package was left pending"

    _assert_generated_rows_once(settings, (D1,))
    jobs = [
        s.summary[JOB_ID_PROPERTY]
        for s in catalog.load_table(("raw", appended)).snapshots()
        if s.summary is not None and s.summary[JOB_ID_PROPERTY]
    ]
    assert jobs == [job_id]  # one commit for the job, not two
    assert "not appending it again" in output


def test_load_killed_after_one_table_on_a_pod_that_loses_its_folder_is_loaded_again(
    s3_env: dict[str, str], tmp_path: Path
) -> None:
    """The pending package dies with the working folder; the state stored with the first
    table's commit says D2 is loaded. The restore sees that the other tables of the load never
    committed it (ingestion/pipeline_state.py), rolls the load back and restores the ledger it
    started from (D1 only), so the re-run loads D2 into every table once."""
    settings = Settings.from_env(s3_env)
    log = tmp_path / "load.log"
    _finish(_start("tests.integration.shop_load", s3_env, D1.isoformat(), "1.0", log=log), log)
    # One load thread (dlt's load.workers): the kill comes before any other table's commit.
    _load_killed_after_commit(s3_env, D2.isoformat(), "*", log, LOAD__WORKERS="1")
    catalog = get_catalog(settings)
    loaded = {
        name: {load for load, _ in committed_jobs(catalog.load_table(("raw", name)))}
        for name in TABLES
    }
    d2_loads = set.union(*loaded.values()) - set.intersection(*loaded.values())
    assert len(d2_loads) == 1, loaded  # D2's load reached some tables...
    assert sum(d2_loads <= loads for loads in loaded.values()) == 1, loaded  # ...one, in fact

    # A new pod: the working folder, and the pending package in it, are gone.
    shutil.rmtree(settings.dlt_pipelines_dir)
    output = _finish(
        _start("tests.integration.shop_load", s3_env, D2.isoformat(), "1.0", log=log), log
    )
    _assert_generated_rows_once(settings, (D1, D2))
    assert "rolling it back" in output


def test_stale_writer_fails_cleanly_then_retries(s3_env: dict[str, str]) -> None:
    catalog = get_catalog(Settings.from_env(s3_env))
    ensure_namespace(catalog, Layer.RAW.value)
    schema = pa.schema([pa.field("id", pa.int64())])
    identifier = "raw.stale"
    # pyiceberg retries conflicting appends itself (commit.retry.num-retries, 4 by default);
    # switched off here to see the catalog's verdict and the helper's own retry.
    catalog.create_table(identifier, schema=schema, properties=NO_BUILTIN_RETRY)
    first, second = catalog.load_table(identifier), catalog.load_table(identifier)
    first.append(pa.table({"id": [1]}, schema=schema))
    # The second handle starts from the old snapshot: the catalog rejects it, nothing is written.
    with pytest.raises(CommitFailedException):
        second.append(pa.table({"id": [2]}, schema=schema))
    assert catalog.load_table(identifier).scan().to_arrow()["id"].to_pylist() == [1]
    # The helper reloads and applies the change again.
    _, retries = commit_with_retry(
        catalog, identifier, lambda t: t.append(pa.table({"id": [2]}, schema=schema))
    )
    assert retries == 0
    assert sorted(catalog.load_table(identifier).scan().to_arrow()["id"].to_pylist()) == [1, 2]

    def always_stale(table):
        raise CommitFailedException("simulated: another writer won")

    with pytest.raises(CommitRetriesExhausted, match="failed 3 times"):
        commit_with_retry(catalog, identifier, always_stale, attempts=3, base_delay=0.001)


def test_two_processes_append_at_once_and_no_commit_is_lost(
    s3_env: dict[str, str], tmp_path: Path
) -> None:
    catalog = get_catalog(Settings.from_env(s3_env))
    ensure_namespace(catalog, Layer.RAW.value)
    catalog.create_table(
        "raw.contended",
        schema=pa.schema([pa.field("writer", pa.int64()), pa.field("seq", pa.int64())]),
        properties=NO_BUILTIN_RETRY,  # every lost race is retried by commit_with_retry
    )
    appends = 15
    start_at = str(time.time() + 5)  # both interpreters are up and connected by then
    logs = [tmp_path / f"writer{n}.log" for n in (1, 2)]
    writers = [
        _start("tests.integration.iceberg_append", s3_env, str(n), str(appends), start_at, log=log)
        for n, log in zip((1, 2), logs, strict=True)
    ]
    outputs = [_finish(w, log) for w, log in zip(writers, logs, strict=True)]

    table = catalog.load_table("raw.contended")
    rows = sorted((r["writer"], r["seq"]) for r in table.scan().to_arrow().to_pylist())
    assert rows == sorted((w, s) for w in (1, 2) for s in range(appends))
    assert len(table.snapshots()) == 2 * appends  # one snapshot per accepted commit
    retries = [int(o.strip().rsplit("retries=", 1)[-1]) for o in outputs]
    print(f"retries per writer: {retries}")
