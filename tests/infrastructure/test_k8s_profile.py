"""The ``k8s`` profile's Python paths, as far as this machine allows.

Settings and catalog properties are checked offline. The REST catalog round trip is real: SeaweedFS
(``weed mini``) stands in for Polaris + MinIO on loopback, so pyiceberg talks OAuth2 to a real
Iceberg REST catalog and writes Parquet and metadata to a real S3 endpoint, and DuckDB reads the
result. What only Polaris, MinIO and Trino can show runs in tests/containers (Docker).
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pyarrow as pa
import pytest

from lakehouse.catalog import catalog_properties, ensure_namespace, get_catalog, table_identifier
from lakehouse.engine import refresh_layer_views
from lakehouse.layers import Layer
from lakehouse.settings import Profile, Settings, SettingsError
from tests.integration.seaweed import SeaweedFS, seaweedfs  # noqa: F401  (fixture)

SECRETS = {
    "ICEBERG_REST_CLIENT_SECRET": "rest-secret-value",
    "AWS_SECRET_ACCESS_KEY": "s3-secret-value",
}
REQUIRED = (
    "ICEBERG_REST_URI",
    "ICEBERG_REST_CLIENT_ID",
    "ICEBERG_REST_CLIENT_SECRET",
    "S3_ENDPOINT",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
)


def k8s_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    return {
        "LAKEHOUSE_PROFILE": "k8s",
        "LAKEHOUSE_DATA_DIR": str(tmp_path),
        "ICEBERG_REST_URI": "http://polaris:8181/api/catalog",
        "ICEBERG_REST_CLIENT_ID": "client-id-value",
        "S3_ENDPOINT": "http://minio:9000",
        "AWS_ACCESS_KEY_ID": "s3-key-id",
        **SECRETS,
        **overrides,
    }


# --- Settings.from_env ---------------------------------------------------------------------------
def test_k8s_settings_parse_every_variable(tmp_path: Path) -> None:
    env = k8s_env(
        tmp_path,
        LAKEHOUSE_PROFILE=" K8S ",
        ICEBERG_REST_WAREHOUSE="wh",
        ICEBERG_REST_SCOPE="PRINCIPAL_ROLE:dbt_transformer",
        AWS_REGION="eu-central-1",
        S3_PATH_STYLE_ACCESS="false",
        LAKEHOUSE_WAREHOUSE_URI="s3://bucket/prefix",
        TRINO_HOST="trino.data.svc",
        TRINO_PORT="8443",
        TRINO_USER="analyst",
        TRINO_CATALOG="lake",
    )
    settings = Settings.from_env(env)

    assert settings.profile is Profile.K8S
    assert settings.data_dir == tmp_path.resolve()
    rest = settings.rest
    assert rest is not None
    assert (rest.uri, rest.warehouse, rest.client_id, rest.client_secret, rest.scope) == (
        "http://polaris:8181/api/catalog",
        "wh",
        "client-id-value",
        "rest-secret-value",
        "PRINCIPAL_ROLE:dbt_transformer",
    )
    assert (rest.s3_endpoint, rest.s3_region, rest.s3_access_key_id, rest.s3_secret_access_key) == (
        "http://minio:9000",
        "eu-central-1",
        "s3-key-id",
        "s3-secret-value",
    )
    assert rest.s3_path_style_access is False
    assert settings.warehouse_uri == rest.warehouse_uri == "s3://bucket/prefix"
    trino = settings.trino
    assert trino is not None
    assert (trino.host, trino.port, trino.user, trino.catalog) == (
        "trino.data.svc",
        8443,
        "analyst",
        "lake",
    )
    assert settings.dbt_target == "trino"


def test_k8s_settings_defaults(tmp_path: Path) -> None:
    settings = Settings.from_env(k8s_env(tmp_path))
    assert settings.rest is not None and settings.trino is not None
    assert settings.rest.warehouse == "lakehouse"
    assert settings.rest.scope == "PRINCIPAL_ROLE:ALL"
    assert settings.rest.s3_region == "us-east-1"
    assert settings.rest.s3_path_style_access is True
    assert settings.warehouse_uri == "s3://lakehouse/warehouse"
    assert (
        settings.trino.host,
        settings.trino.port,
        settings.trino.user,
        settings.trino.catalog,
    ) == (
        "trino",
        8080,
        "dbt",
        "iceberg",
    )


@pytest.mark.parametrize("name", REQUIRED)
@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_k8s_variable_is_named(tmp_path: Path, name: str, value: str | None) -> None:
    env = k8s_env(tmp_path)
    if value is None:
        del env[name]
    else:
        env[name] = value
    with pytest.raises(
        SettingsError, match=rf"^{name} is not set but LAKEHOUSE_PROFILE=k8s needs it"
    ):
        Settings.from_env(env)


def test_secrets_are_not_in_repr(tmp_path: Path) -> None:
    settings = Settings.from_env(k8s_env(tmp_path))
    for text in (repr(settings), str(settings), repr(settings.rest)):
        for secret in SECRETS.values():
            assert secret not in text
    assert "client-id-value" in repr(settings.rest)  # the rest is still there to debug with


def test_unknown_profile_is_explained(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="'k8' is not a profile; use 'local'"):
        Settings.from_env(k8s_env(tmp_path, LAKEHOUSE_PROFILE="k8"))


# --- catalog_properties --------------------------------------------------------------------------
def test_k8s_catalog_properties_are_exact(tmp_path: Path) -> None:
    assert catalog_properties(Settings.from_env(k8s_env(tmp_path))) == {
        "type": "rest",
        "uri": "http://polaris:8181/api/catalog",
        "warehouse": "lakehouse",
        "credential": "client-id-value:rest-secret-value",
        "oauth2-server-uri": "http://polaris:8181/api/catalog/v1/oauth/tokens",
        "scope": "PRINCIPAL_ROLE:ALL",
        "s3.endpoint": "http://minio:9000",
        "s3.region": "us-east-1",
        "s3.access-key-id": "s3-key-id",
        "s3.secret-access-key": "s3-secret-value",
        "s3.force-virtual-addressing": "false",
    }


def test_virtual_host_addressing_when_path_style_is_off(tmp_path: Path) -> None:
    settings = Settings.from_env(k8s_env(tmp_path, S3_PATH_STYLE_ACCESS="0"))
    assert catalog_properties(settings)["s3.force-virtual-addressing"] == "true"


# --- a real REST catalog round trip (SeaweedFS) --------------------------------------------------
@pytest.mark.integration
def test_rest_catalog_round_trip(seaweedfs: SeaweedFS, tmp_path: Path) -> None:  # noqa: F811
    settings = Settings.from_env(seaweedfs.k8s_env(tmp_path))
    catalog = get_catalog(settings)
    ensure_namespace(catalog, Layer.RAW.value)
    ensure_namespace(catalog, Layer.RAW.value)  # idempotent against a real catalog too
    assert ("raw",) in catalog.list_namespaces()

    name = f"orders_{uuid.uuid4().hex[:8]}"
    identifier = table_identifier(Layer.RAW, name)
    batch1 = pa.table(
        {
            "order_id": pa.array([1, 2], pa.int64()),
            "status": ["placed", "paid"],
            "amount": [9.5, 20.0],
        }
    )
    batch2 = pa.table(
        {"order_id": pa.array([3], pa.int64()), "status": ["shipped"], "amount": [3.25]}
    )
    table = catalog.create_table(identifier, schema=batch1.schema)
    try:
        table.append(batch1)
        table.append(batch2)

        # pyiceberg reads back through the catalog (a fresh catalog: nothing cached).
        reloaded = get_catalog(settings).load_table(identifier)
        assert len(reloaded.snapshots()) == 2
        assert reloaded.metadata_location.startswith(f"s3://{seaweedfs.warehouse}/")
        rows = reloaded.scan().to_arrow().sort_by("order_id").to_pylist()
        assert rows == [
            {"order_id": 1, "status": "placed", "amount": 9.5},
            {"order_id": 2, "status": "paid", "amount": 20.0},
            {"order_id": 3, "status": "shipped", "amount": 3.25},
        ]

        # DuckDB's iceberg extension reads the metadata file the catalog points to ...
        conn = seaweedfs.duckdb()
        scanned = conn.execute(
            "SELECT order_id, status FROM iceberg_scan(?) ORDER BY order_id",
            [reloaded.metadata_location],
        ).fetchall()
        assert scanned == [(1, "placed"), (2, "paid"), (3, "shipped")]
        # ... which is what the project's raw views do,
        assert name in refresh_layer_views(conn, catalog, Layer.RAW)
        assert conn.execute(f'SELECT sum(amount) FROM raw."{name}"').fetchone() == (32.75,)
        # ... and it can also attach the REST catalog itself.
        conn.execute(
            "CREATE SECRET rest (TYPE iceberg, CLIENT_ID ?, CLIENT_SECRET ?, OAUTH2_SERVER_URI ?)",
            [
                seaweedfs.access_key,
                seaweedfs.secret_key,
                f"{seaweedfs.iceberg_uri}/v1/oauth/tokens",
            ],
        )
        conn.execute(
            f"ATTACH '{seaweedfs.warehouse}' AS lake (TYPE iceberg, ENDPOINT '{seaweedfs.iceberg_uri}', "
            "SECRET rest, ACCESS_DELEGATION_MODE 'none')"
        )
        assert conn.execute(f"SELECT count(*) FROM lake.raw.{name}").fetchone() == (3,)
        conn.close()
    finally:
        catalog.drop_table(identifier)
    assert not catalog.table_exists(identifier)


# --- the S3 warehouse + SQL catalog variant ------------------------------------------------------
def test_sql_catalog_variant_needs_no_rest_variables(tmp_path: Path) -> None:
    env = k8s_env(tmp_path, ICEBERG_SQL_CATALOG_URI="sqlite:////tmp/catalog.db")
    for name in ("ICEBERG_REST_URI", "ICEBERG_REST_CLIENT_ID", "ICEBERG_REST_CLIENT_SECRET"):
        del env[name]
    settings = Settings.from_env(env)
    assert settings.sql_catalog_uri == "sqlite:////tmp/catalog.db"
    properties = catalog_properties(settings)
    assert {k: v for k, v in properties.items() if not k.startswith("s3.")} == {
        "type": "sql",
        "uri": "sqlite:////tmp/catalog.db",
        "warehouse": "s3://lakehouse/warehouse",
    }
    assert properties["s3.endpoint"] == "http://minio:9000"
    assert properties["s3.secret-access-key"] == "s3-secret-value"
    # S3 variables are still required.
    del env["S3_ENDPOINT"]
    with pytest.raises(SettingsError, match=r"^S3_ENDPOINT is not set"):
        Settings.from_env(env)
