"""How long the code location takes to load: the project's manifest, and 1,000 generated models.

Two figures each: a fresh interpreter from start to a resolved asset graph (what `dagster dev`
and a k8s code-location pod pay), and the definitions alone once the libraries are imported.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from lakehouse.paths import DBT_PROJECT_DIR

DBT = str(Path(sys.executable).with_name("dbt"))
# The integrations a load builds the graph with (dagster-dlt imports dlt): the libraries' share.
# Nothing a run alone needs (pyiceberg, DuckDB, the model's stack): the load no longer imports
# them (tests/orchestration/test_cold_load.py), so importing them here would count time it
# does not spend.
LIBRARIES = "import dagster, dagster_dbt, dagster_dlt"

PROJECT_LOAD = """
import time
t0 = time.perf_counter()
{libraries}
t1 = time.perf_counter()
from orchestration.definitions import defs
defs.resolve_asset_graph()
t2 = time.perf_counter()
print(t2 - t0, t2 - t1)
"""

GENERATED_LOAD = """
import time, sys
t0 = time.perf_counter()
{libraries}
t1 = time.perf_counter()
import dagster as dg
from dagster_dbt import dbt_assets, DbtCliResource
from orchestration.defs.dbt.translator import LayerTranslator
@dbt_assets(manifest=sys.argv[1], dagster_dbt_translator=LayerTranslator())
def generated(context, dbt: DbtCliResource):
    yield from dbt.cli(["build"], context=context).stream()
dg.Definitions(
    assets=[generated], resources={{"dbt": DbtCliResource(project_dir=sys.argv[2], dbt_executable=sys.argv[3])}}
).resolve_asset_graph()
t2 = time.perf_counter()
print(t2 - t0, t2 - t1)
"""


def timed(script: str, *args: str) -> tuple[float, float]:
    out = subprocess.run(
        [sys.executable, "-c", script.format(libraries=LIBRARIES), *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    return float(out[-2]), float(out[-1])


def generate_project(root: Path, models: int) -> Path:
    """A dbt project of ``models`` models in three layers over one source, then parsed."""
    (root / "models").mkdir(parents=True, exist_ok=True)
    (root / "dbt_project.yml").write_text(
        "name: generated\nversion: '1.0'\nconfig-version: 2\nprofile: generated\n"
        "models:\n  generated:\n    +schema: silver\n"
    )
    (root / "profiles.yml").write_text(
        "generated:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        f"      path: {root / 'generated.duckdb'}\n"
    )
    (root / "models" / "sources.yml").write_text(
        "version: 2\nsources:\n  - name: raw\n    tables:\n      - name: events\n"
    )
    for i in range(models):
        parent = "{{ source('raw', 'events') }}" if i < 10 else f"{{{{ ref('m{i // 10:04d}') }}}}"
        (root / "models" / f"m{i:04d}.sql").write_text(f"select * from {parent}\n")
    subprocess.run(
        [
            DBT,
            "parse",
            "--quiet",
            "--target",
            "dev",
            "--project-dir",
            str(root),
            "--profiles-dir",
            str(root),
        ],
        check=True,
    )
    return root / "target" / "manifest.json"


def measure(work: Path, models: int = 1000) -> dict[str, float]:
    manifest = DBT_PROJECT_DIR / "target" / "local" / "manifest.json"
    if not manifest.exists():
        raise SystemExit("no dbt manifest: run `make manifest` first")
    project_total, project_defs = min(timed(PROJECT_LOAD) for _ in range(3))
    started = time.perf_counter()
    generated = generate_project(work / f"dbt_{models}_models", models)
    parse_seconds = time.perf_counter() - started
    gen_total, gen_defs = min(
        timed(GENERATED_LOAD, str(generated), str(generated.parent.parent), DBT) for _ in range(3)
    )
    return {
        "project_models": len(
            [n for n in json.loads(manifest.read_text())["nodes"] if n.startswith("model.")]
        ),
        "project_load_seconds": project_total,
        "project_definitions_seconds": project_defs,
        "generated_models": models,
        "generated_parse_seconds": parse_seconds,
        "generated_load_seconds": gen_total,
        "generated_definitions_seconds": gen_defs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True)
    print(json.dumps(measure(parser.parse_args().work), indent=2))


if __name__ == "__main__":
    main()
