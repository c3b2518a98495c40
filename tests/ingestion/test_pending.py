"""Which dlt loads are pending (their snapshots' markers must survive snapshot expiry)."""

from __future__ import annotations

import subprocess
import sys

from ingestion.pending import pending_load_ids
from ingestion.pipeline import make_pipeline
from ingestion.shop import shop
from ingestion.shop.settings import START_DATE
from lakehouse.settings import Settings


def test_a_normalized_package_is_pending_until_loaded(lakehouse_env: Settings) -> None:
    pipelines_dir = lakehouse_env.dlt_pipelines_dir
    (pipelines_dir / "not-a-pipeline").mkdir(parents=True)  # skipped: nothing dlt could resume
    pipeline = make_pipeline(lakehouse_env)
    assert pending_load_ids(lakehouse_env) == frozenset()

    pipeline.extract(shop(START_DATE, scale_factor=0.05))
    pipeline.normalize()
    (load_id,) = pipeline.list_normalized_load_packages()
    assert pending_load_ids(lakehouse_env) == {load_id}
    # as the maintenance job sees it: another process, where dlt cannot rebuild the
    # project's destination from the pipeline's stored state on its own
    script = "from ingestion.pending import pending_load_ids as p; from lakehouse.settings "
    script += "import Settings; print(*p(Settings.from_env()))"
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert other.returncode == 0, other.stderr[-2000:]
    assert other.stdout.split() == [load_id]

    pipeline.load()
    assert pending_load_ids(lakehouse_env) == frozenset()


def test_no_pipelines_folder_means_nothing_pending(lakehouse_env: Settings) -> None:
    assert not lakehouse_env.dlt_pipelines_dir.exists()
    assert pending_load_ids(lakehouse_env) == frozenset()
