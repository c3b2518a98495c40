"""The k8s profile end to end on real MinIO, Polaris and Trino containers (testcontainers).

Skipped without a Docker engine (see docker_env.py); the kind-e2e CI workflow runs it. Order of
events: the Polaris bootstrap (the project's own, as the Kubernetes Job runs it) -> raw Iceberg
tables through the project's REST catalog path (dlt + the shop source when present, else
pyiceberg) -> Polaris' authorizer enforces the grants -> ``dbt build --target trino`` -> gold
queried through Trino with the read-only principal.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse.catalog import get_catalog
from lakehouse.paths import DBT_PROJECT_DIR
from lakehouse.platform.polaris import BootstrapSettings, PolarisClient, bootstrap, default_plan
from lakehouse.publish import publish_build
from lakehouse.settings import Settings
from tests.containers.docker_env import docker_status
from tests.containers.stack import Stack

pytestmark = [
    pytest.mark.containers,
    pytest.mark.skipif(not docker_status()[0], reason=docker_status()[1]),
]


def trino_rows(stack: Stack, sql: str, catalog: str = "iceberg_readonly") -> list[tuple]:
    import trino

    conn = trino.dbapi.connect(
        host=stack.trino_host, port=stack.trino_port, user="analyst", catalog=catalog
    )
    try:
        cursor = conn.cursor()
        cursor.execute(sql)
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        conn.close()


def shop_ingestion():
    """(make_pipeline, shop) when the ingestion package provides them, else None."""
    try:
        from ingestion.pipeline import make_pipeline
        from ingestion.shop import shop
    except ImportError:
        return None
    return make_pipeline, shop


@dataclass(frozen=True)
class RawLoad:
    via: str  # "dlt" or "pyiceberg"
    tables: tuple[str, ...]


@pytest.fixture(scope="module")
def raw_load(lakehouse_stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> RawLoad:
    data_dir = tmp_path_factory.mktemp("ingestion")
    settings = Settings.from_env(lakehouse_stack.client_env("ingestion_writer", data_dir))
    ingestion = shop_ingestion()
    if ingestion is not None:
        from ingestion.shop.settings import START_DATE

        make_pipeline, shop = ingestion
        pipeline = make_pipeline(settings)
        pipeline.run(shop(business_date=START_DATE, seed=7, scale_factor=0.02))
        via = "dlt"
    else:
        table = pa.table(
            {"order_id": pa.array([1, 2, 3], pa.int64()), "amount": pa.array([9.5, 20.0, 3.25])}
        )
        catalog = get_catalog(settings)
        catalog.create_table("raw.smoke_orders", schema=table.schema).append(table)
        via = "pyiceberg"
    catalog = get_catalog(settings)
    names = sorted(t[-1] for t in catalog.list_tables("raw") if not t[-1].startswith("_dlt"))
    return RawLoad(via=via, tables=tuple(names))


def test_bootstrap_rerun_against_real_polaris_changes_nothing(lakehouse_stack: Stack) -> None:
    env = {
        "POLARIS_MANAGEMENT_URI": f"{lakehouse_stack.polaris_url}/api/management/v1",
        "POLARIS_TOKEN_URI": f"{lakehouse_stack.polaris_url}/api/catalog/v1/oauth/tokens",
        "POLARIS_BOOTSTRAP_CLIENT_ID": "root",
        "POLARIS_BOOTSTRAP_CLIENT_SECRET": "root-secret-for-tests",
        "S3_ENDPOINT": "http://minio:9000",
        "POLARIS_S3_CLIENT_ENDPOINT": lakehouse_stack.minio_endpoint,
    }
    settings = BootstrapSettings.from_env(env)
    report = bootstrap(
        PolarisClient(settings.polaris), settings.storage, lakehouse_stack.secrets, default_plan()
    )
    assert report.changes == []


def test_raw_tables_load_through_the_rest_catalog(
    lakehouse_stack: Stack, raw_load: RawLoad, tmp_path: Path
) -> None:
    assert raw_load.tables, "nothing landed in raw"
    reader = get_catalog(Settings.from_env(lakehouse_stack.client_env("trino_reader", tmp_path)))
    for name in raw_load.tables:
        table = reader.load_table(f"raw.{name}")
        assert table.metadata_location.startswith("s3://lakehouse/warehouse/raw/")
        assert len(table.scan().to_arrow()) > 0
        # Trino, with the read-only principal, sees the same rows.
        ((count,),) = trino_rows(lakehouse_stack, f'SELECT count(*) FROM raw."{name}"')
        assert count == len(table.scan().to_arrow())


def test_polaris_enforces_the_grants(lakehouse_stack: Stack, raw_load: RawLoad, tmp_path) -> None:
    from pyiceberg.exceptions import ForbiddenError

    schema = pa.schema([pa.field("id", pa.int64())])

    def catalog(principal: str):
        return get_catalog(Settings.from_env(lakehouse_stack.client_env(principal, tmp_path)))

    name = f"grant_probe_{uuid.uuid4().hex[:8]}"
    with pytest.raises(ForbiddenError):
        catalog("trino_reader").create_table(f"raw.{name}", schema=schema)
    with pytest.raises(ForbiddenError):
        catalog("ingestion_writer").create_table(f"bronze.{name}", schema=schema)
    with pytest.raises(ForbiddenError):
        catalog("dbt_transformer").create_table(f"raw.{name}", schema=schema)
    transformer = catalog("dbt_transformer")
    transformer.create_table(f"bronze.{name}", schema=schema)
    transformer.drop_table(f"bronze.{name}")


def test_dbt_build_on_trino_then_query_gold(
    lakehouse_stack: Stack, raw_load: RawLoad, tmp_path: Path
) -> None:
    assert (DBT_PROJECT_DIR / "dbt_project.yml").is_file(), f"no dbt project at {DBT_PROJECT_DIR}"
    if raw_load.via != "dlt":
        pytest.skip(
            "ingestion.pipeline/ingestion.shop not importable: dbt's raw sources are absent"
        )
    dbt = Path(sys.prefix) / "bin" / "dbt"
    dbt_cmd = str(dbt) if dbt.is_file() else shutil.which("dbt")
    assert dbt_cmd, "dbt not installed in this environment"

    env = {
        **os.environ,
        **lakehouse_stack.client_env("dbt_transformer", tmp_path),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "DO_NOT_TRACK": "1",
    }
    result = subprocess.run(
        [
            dbt_cmd,
            "build",
            "--target",
            "trino",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            str(tmp_path / "target"),
            "--log-path",
            str(tmp_path / "logs"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]

    # Write-audit-publish: dbt built and tested gold in gold_staging; consumers see it in gold
    # only after the code location (as ingestion_writer) publishes the build.
    gold_models = {p.stem for p in (DBT_PROJECT_DIR / "models" / "gold").glob("*.sql")}
    staged = {row[0] for row in trino_rows(lakehouse_stack, "SHOW TABLES FROM gold_staging")}
    assert gold_models <= staged
    publisher = Settings.from_env(lakehouse_stack.client_env("ingestion_writer", tmp_path))
    publish_build(publisher, "container-test", [["gold", name] for name in gold_models])
    gold_tables = {row[0] for row in trino_rows(lakehouse_stack, "SHOW TABLES FROM gold")}
    assert gold_models <= gold_tables
    counts = {
        name: trino_rows(lakehouse_stack, f'SELECT count(*) FROM gold."{name}"')[0][0]
        for name in sorted(gold_models)
    }
    assert all(count > 0 for count in counts.values()), counts
