"""dlt lands the shop source as Iceberg tables on real S3 (SeaweedFS) through a SQL catalog.

The ``k8s`` profile's SQL-catalog variant (``ICEBERG_SQL_CATALOG_URI``): data and metadata on S3,
the catalog in SQLite. Read back with pyiceberg (a fresh catalog) and DuckDB (lakehouse.engine's
raw views at the catalog's metadata files). The REST catalog round trip is in
tests/infrastructure/test_k8s_profile.py.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta

import pyarrow as pa
import pytest

from ingestion.pipeline import make_pipeline
from ingestion.shop import shop
from ingestion.shop.generator import SCHEMAS, TABLES, ShopSimulator
from ingestion.shop.settings import START_DATE
from lakehouse.catalog import get_catalog
from lakehouse.engine import refresh_layer_views
from lakehouse.inventory import iceberg_row_counts
from lakehouse.layers import Layer
from lakehouse.settings import Settings
from tests.integration.content_hash import table_content_hashes
from tests.integration.seaweed import SeaweedFS

pytestmark = pytest.mark.integration

SCALE_FACTOR = 0.2
D1, D2 = START_DATE, START_DATE + timedelta(days=1)


def _rows(table: pa.Table, name: str) -> Counter:
    return Counter(tuple(sorted(r.items())) for r in table.select(SCHEMAS[name].names).to_pylist())


@pytest.fixture(scope="module")
def s3_settings(seaweedfs: SeaweedFS, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    data_dir = tmp_path_factory.mktemp("s3-sql")
    bucket = f"dlt-{uuid.uuid4().hex[:8]}"
    settings = Settings.from_env(seaweedfs.sql_catalog_env(data_dir, bucket))
    for day in (D2, D1):  # out of order, as a backfill may
        make_pipeline(settings).run(shop(day, scale_factor=SCALE_FACTOR, batch_size=128))
    return settings


def test_tables_live_on_s3_and_hold_every_row_once(s3_settings: Settings) -> None:
    catalog = get_catalog(s3_settings)  # a fresh catalog: nothing cached from the load
    simulator = ShopSimulator(scale_factor=SCALE_FACTOR)
    for name in TABLES:
        table = catalog.load_table(("raw", name))
        assert table.metadata_location.startswith(f"{s3_settings.warehouse_uri}/raw/{name}/")
        landed = table.scan().to_arrow()
        generated = pa.concat_tables(simulator.read(name, day) for day in (D1, D2))
        assert landed.num_rows == generated.num_rows > 0, name
        assert _rows(landed, name) == _rows(generated, name), name


def test_duckdb_reads_the_same_tables_from_s3(s3_settings: Settings, seaweedfs: SeaweedFS) -> None:
    catalog = get_catalog(s3_settings)
    conn = seaweedfs.duckdb()
    assert set(refresh_layer_views(conn, catalog, Layer.RAW)) == set(TABLES)
    counts = {
        name: conn.execute(f'SELECT count(*) FROM raw."{name}"').fetchone()[0] for name in TABLES
    }
    assert counts == iceberg_row_counts(catalog)
    # A figure computed by both engines agrees to the cent.
    (duck_total,) = conn.execute("SELECT sum(amount) FROM raw.payments").fetchone()
    arrow_total = pa.compute.sum(catalog.load_table("raw.payments").scan().to_arrow()["amount"])
    assert duck_total == arrow_total.as_py()
    conn.close()


def test_rerunning_both_dates_changes_nothing(s3_settings: Settings) -> None:
    catalog = get_catalog(s3_settings)
    before = table_content_hashes(catalog)
    snapshots = {n: catalog.load_table(("raw", n)).current_snapshot().snapshot_id for n in TABLES}
    for day in (D1, D2):
        make_pipeline(s3_settings).run(shop(day, scale_factor=SCALE_FACTOR))
    # reload=True re-upserts the merge tables: new snapshots, same content.
    make_pipeline(s3_settings).run(shop(D1, scale_factor=SCALE_FACTOR, reload=True))
    catalog = get_catalog(s3_settings)
    assert table_content_hashes(catalog) == before
    for name in ("order_items", "payments"):  # append tables were not touched at all
        assert catalog.load_table(("raw", name)).current_snapshot().snapshot_id == snapshots[name]
