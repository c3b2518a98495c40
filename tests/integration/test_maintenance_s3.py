"""Maintenance with pyiceberg on a real S3 server (SeaweedFS) and the SQL catalog: compaction and
snapshot expiry work on an object store; the orphan sweep, which lists local folders only, is
left to Trino's procedure there and is skipped, not failed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse.catalog import get_catalog
from lakehouse.maintenance.policy import MaintenancePolicy
from lakehouse.maintenance.run import maintain_catalog
from lakehouse.settings import Settings
from tests.integration.seaweed import SeaweedFS

pytestmark = pytest.mark.integration

SCHEMA = pa.schema([pa.field("id", pa.int64())])
POLICY = MaintenancePolicy(max_snapshot_age=timedelta(0), min_snapshots_to_keep=1)


def test_compaction_and_expiry_on_s3_without_a_local_sweep(
    seaweedfs: SeaweedFS, tmp_path: Path
) -> None:
    env = seaweedfs.sql_catalog_env(tmp_path / "data", f"mt-{uuid.uuid4().hex[:8]}")
    catalog = get_catalog(Settings.from_env(env))
    catalog.create_namespace("raw")
    table = catalog.create_table("raw.events", schema=SCHEMA)
    for day in range(8):
        table.append(pa.table({"id": [day * 10 + i for i in range(10)]}, schema=SCHEMA))

    (report,) = maintain_catalog(catalog, lambda _: POLICY, datetime.now(UTC), lambda _: False)

    assert report.error is None, report.summary()
    assert report.table == "raw.events" and report.sweep is None
    assert report.summary().endswith("no orphan sweep")
    assert (report.before.data_files, report.after.data_files) == (8, 1)
    assert report.after.snapshots <= 3
    ids = catalog.load_table("raw.events").scan().to_arrow()["id"].to_pylist()
    assert sorted(ids) == list(range(80))
