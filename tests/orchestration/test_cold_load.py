"""The code location's load imports only what building the definitions needs (issue 18).

A fresh interpreter imports ``orchestration.definitions`` and resolves the asset graph, as
``dagster dev`` and a code-location pod do, then reports which modules it holds. The libraries
only runs use (the catalog, the engines, the model) must not be among them: each is imported in
the asset, check or op body that uses it, and an import moved back to a module top fails here.
No time is asserted; ``make bench`` (``bench/codeloc.py``) measures the load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from lakehouse.data_health import SCHEMAS
from lakehouse.paths import REPO_ROOT
from orchestration.defs.health.assets import DESCRIPTIONS

# What a run needs and a load does not: pyiceberg (every catalog read and write), DuckDB (the
# embedded engine), pandas / LightGBM / scikit-learn (scipy) / MLflow (the churn model), and the
# cluster clients.
RUN_ONLY = (
    "pyiceberg",
    "duckdb",
    "pandas",
    "lightgbm",
    "sklearn",
    "scipy",
    "mlflow",
    "trino",
    "kubernetes",
)
# What the load cannot avoid (the integrations it builds the graph with; dagster-dlt imports
# dlt): the report must name them, or the probe would be looking at the wrong process.
LOAD_NEEDS = ("dagster", "dagster_dbt", "dagster_dlt", "dlt")

PROBE = """
import json, sys
from orchestration.definitions import defs
graph = defs.resolve_asset_graph()
print(json.dumps({
    "assets": len(graph.get_all_asset_keys()),
    "loaded": sorted({name.split(".")[0] for name in sys.modules}),
}))
"""


def loaded_by_a_cold_load(profile: str, tmp_path) -> dict:
    env = {
        **os.environ,
        "LAKEHOUSE_PROFILE": profile,
        "LAKEHOUSE_DATA_DIR": str(tmp_path),
        "DAGSTER_HOME": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_cold_load_imports_no_run_only_library(defs, tmp_path) -> None:
    report = loaded_by_a_cold_load("local", tmp_path)
    # the same graph as the suite's own load: the probe built the whole code location
    assert report["assets"] == len(defs.resolve_asset_graph().get_all_asset_keys())
    loaded = set(report["loaded"])
    assert set(LOAD_NEEDS) <= loaded
    assert sorted(loaded.intersection(RUN_ONLY)) == []


def test_the_cluster_profile_loads_without_them_too(k8s_manifest, tmp_path) -> None:
    loaded = set(loaded_by_a_cold_load("k8s", tmp_path)["loaded"])
    assert set(LOAD_NEEDS) <= loaded
    assert sorted(loaded.intersection(RUN_ONLY)) == []


def test_the_health_assets_are_the_health_tables() -> None:
    """The health specs are named without importing ``lakehouse.data_health`` at load."""
    assert list(DESCRIPTIONS) == list(SCHEMAS)
