"""The cost of publishing a build (write-audit-publish) against the dbt build it publishes.

On a data folder the full pipeline has just built, time (in this process, so no interpreter
start-up is counted) a ``dbt build --full-refresh`` of the same dates, as the pipeline's first
build did, then a publish of every silver/gold table it built, under a new build id: the work
the dbt step adds after every successful build. Reported, never asserted.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

from lakehouse.inventory import duckdb_row_counts
from lakehouse.layers import PUBLISHED_LAYERS
from lakehouse.paths import DBT_PROJECT_DIR
from lakehouse.publish import publish_build
from lakehouse.settings import Settings
from orchestration.defs.dbt.assets import window_vars
from orchestration.defs.dbt.project import dbt_project_manifest
from orchestration.defs.dbt.publish import incremental_unique_keys


def built_tables(settings: Settings) -> list[list[str]]:
    """Every silver/gold table of the DuckDB build, as asset paths ``[layer, table]``."""
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as conn:
        return [
            [layer.value, name]
            for layer in PUBLISHED_LAYERS
            for name in duckdb_row_counts(conn, layer)
        ]


def measure_publish(data_dir: Path, first: date, last: date) -> dict:
    env = {**os.environ, "LAKEHOUSE_PROFILE": "local", "LAKEHOUSE_DATA_DIR": str(data_dir)}
    settings = Settings.from_env(env)
    window = (first.isoformat(), (last + timedelta(days=1)).isoformat())
    started = time.perf_counter()
    subprocess.run(
        [
            *(
                str(Path(sys.executable).with_name("dbt")),
                "build",
                "--full-refresh",
                "--exclude-resource-type",
                "unit_test",
            ),
            *("--target", "local", *window_vars(window), "--quiet"),
            *("--target-path", str(data_dir / "dbt" / "bench" / "target")),
            *("--log-path", str(data_dir / "dbt" / "bench" / "logs")),
        ],
        cwd=DBT_PROJECT_DIR,
        env={**env, "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)},
        check=True,
    )
    dbt_seconds = time.perf_counter() - started
    tables = built_tables(settings)
    started = time.perf_counter()
    keys = incremental_unique_keys(dbt_project_manifest())
    publish_build(settings, f"bench-{time.time_ns()}", tables, keys)
    publish_seconds = time.perf_counter() - started
    return {
        "dbt_build_seconds": dbt_seconds,
        "publish_seconds": publish_seconds,
        "publish_over_dbt": publish_seconds / dbt_seconds,
        "published_tables": len(tables),
    }
