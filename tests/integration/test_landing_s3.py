"""The landing source reading from a real S3 bucket (SeaweedFS) into Iceberg on S3."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from ingestion.landing import landing, last_run_report
from ingestion.pipeline import make_pipeline
from lakehouse.catalog import get_catalog
from lakehouse.settings import Settings
from tests.ingestion.test_landing import CASES, CONTRACTS, DAY, SOURCE
from tests.integration.seaweed import SeaweedFS

pytestmark = pytest.mark.integration

FILES = ("orders.csv", "orders-types.jsonl", "orders-good.parquet", "orders-empty.csv")


def test_landing_from_s3_loads_once(seaweedfs: SeaweedFS, tmp_path: Path) -> None:
    bucket = f"land-{uuid.uuid4().hex[:8]}"
    settings = Settings.from_env(seaweedfs.sql_catalog_env(tmp_path / "data", bucket))
    fs = seaweedfs.s3fs()
    for name in FILES:
        fs.pipe(f"{bucket}/landing/{SOURCE}/{DAY}/{name}", CASES[name][0])
    options = {
        "key": seaweedfs.access_key,
        "secret": seaweedfs.secret_key,
        "client_kwargs": {"endpoint_url": seaweedfs.s3_endpoint, "region_name": seaweedfs.region},
    }

    def run() -> dict:
        pipeline = make_pipeline(settings, name=f"landing_{SOURCE}")
        pipeline.run(landing(f"s3://{bucket}/landing", SOURCE, CONTRACTS, DAY, options))
        return last_run_report(pipeline, SOURCE)

    good = set().union(*(CASES[n][1] for n in FILES))
    bad = sum(CASES[n][2] for n in FILES)
    report = run()
    assert (report["files_processed"], report["rows_loaded"], report["rows_quarantined"]) == (
        len(FILES),
        len(good),
        bad,
    )
    catalog = get_catalog(settings)
    orders = catalog.load_table("raw.acme_orders").scan().to_arrow()
    assert sorted(orders["order_id"].to_pylist()) == sorted(good)
    quarantine = catalog.load_table("raw.quarantine").scan().to_arrow()
    assert quarantine.num_rows == bad
    assert all(f.startswith(f"s3://{bucket}/landing/") for f in quarantine["file"].to_pylist())

    report = run()  # the ledger (path + size + etag) skips every file
    assert report["files_skipped"] == len(FILES) and report["rows_loaded"] == 0
    assert get_catalog(settings).load_table("raw.acme_orders").scan().to_arrow().num_rows == len(
        good
    )
