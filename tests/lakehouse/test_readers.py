"""Readers never take the pipeline's DuckDB lock (issue 15): a writer holds it while they read.

DuckDB allows one read-write process per database file; dbt holds the file for a whole build.
Before this, `make docs` (dbt docs generate) and `make query` opened the file and failed (or made
the run fail) with "Could not set lock on file ... Conflicting lock is held".
"""

from __future__ import annotations

import os
import subprocess
import sys

import duckdb
import pytest

from lakehouse.paths import REPO_ROOT
from lakehouse.publish import publish_build
from lakehouse.settings import Settings


@pytest.fixture
def locked(lakehouse_env: Settings):
    """A published build, and the pipeline's DuckDB file held open read-write, as dbt holds it."""
    lakehouse_env.data_dir.mkdir(parents=True)
    conn = duckdb.connect(str(lakehouse_env.duckdb_path))
    conn.execute("create schema gold; create table gold.daily_revenue as select 1 as orders")
    conn.close()
    publish_build(lakehouse_env, "run-1", [["gold", "daily_revenue"]])
    writer = duckdb.connect(str(lakehouse_env.duckdb_path))
    yield lakehouse_env
    writer.close()


def test_the_lock_is_real(locked: Settings) -> None:
    """The fixture's writer does block another process that opens the file (else the tests below
    could not fail)."""
    probe = subprocess.run(
        [sys.executable, "-c", f"import duckdb; duckdb.connect({str(locked.duckdb_path)!r})"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode != 0 and "Conflicting lock is held" in probe.stderr


def test_make_sql_reads_while_the_pipeline_file_is_locked(locked: Settings) -> None:
    shell = subprocess.run(
        ["make", "--no-print-directory", "sql", "SQL=select orders from gold.daily_revenue"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LAKEHOUSE_DATA_DIR": str(locked.data_dir)},
    )
    assert shell.returncode == 0, shell.stderr
    assert "│      1 │" in shell.stdout


def test_docs_build_while_the_pipeline_file_is_locked(locked: Settings) -> None:
    docs = subprocess.run(
        ["make", "--no-print-directory", "docs-build"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LAKEHOUSE_DATA_DIR": str(locked.data_dir)},
    )
    assert docs.returncode == 0, docs.stdout[-3000:] + docs.stderr[-3000:]
    site = REPO_ROOT / "transformations" / "target" / "local"
    assert (site / "index.html").is_file() and (site / "catalog.json").is_file()
