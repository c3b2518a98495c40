"""Which dlt loads are pending (their snapshots' markers must survive snapshot expiry)."""

from __future__ import annotations

from ingestion.pending import pending_load_ids
from ingestion.pipeline import make_pipeline
from ingestion.shop import shop
from ingestion.shop.settings import START_DATE
from lakehouse.settings import Settings


def test_a_normalized_package_is_pending_until_loaded(lakehouse_env: Settings) -> None:
    pipelines_dir = lakehouse_env.dlt_pipelines_dir
    (pipelines_dir / "not-a-pipeline").mkdir(parents=True)  # skipped: nothing dlt could resume
    pipeline = make_pipeline(lakehouse_env)
    assert pending_load_ids(pipelines_dir) == frozenset()

    pipeline.extract(shop(START_DATE, scale_factor=0.05))
    pipeline.normalize()
    (load_id,) = pipeline.list_normalized_load_packages()
    assert pending_load_ids(pipelines_dir) == {load_id}

    pipeline.load()
    assert pending_load_ids(pipelines_dir) == frozenset()


def test_no_pipelines_folder_means_nothing_pending(lakehouse_env: Settings) -> None:
    assert pending_load_ids(lakehouse_env.dlt_pipelines_dir / "absent") == frozenset()
