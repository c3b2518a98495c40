"""The dlt pipeline that lands sources as Iceberg tables in the ``raw`` namespace.

dlt's filesystem destination writes Parquet under ``<warehouse>/raw/<table>`` and commits it to
an Iceberg catalog. By default dlt would use a throwaway in-memory catalog; here it is handed the
project's persistent catalog (``lakehouse.catalog.catalog_properties``), so every engine that
reads the catalog (DuckDB, Trino, pyiceberg) sees the tables dlt wrote.
"""

from __future__ import annotations

import dlt
from dlt.common.configuration.specs import AwsCredentials

from ingestion.destination import idempotent_filesystem
from lakehouse.catalog import catalog_properties, ensure_namespace, get_catalog
from lakehouse.layers import Layer
from lakehouse.settings import CATALOG_NAME, Profile, Settings

PIPELINE_NAME = "shop"


def configure_iceberg_catalog(settings: Settings) -> None:
    """Point dlt's ``[iceberg_catalog]`` config at the project's catalog."""
    properties = catalog_properties(settings)
    dlt.config["iceberg_catalog.iceberg_catalog_name"] = CATALOG_NAME
    dlt.config["iceberg_catalog.iceberg_catalog_type"] = properties["type"]
    dlt.config["iceberg_catalog.iceberg_catalog_config"] = properties
    # Record which load wrote each row (lineage), as dlt does for non-Arrow data.
    dlt.config["normalize.parquet_normalizer.add_dlt_load_id"] = True


def destination(settings: Settings) -> idempotent_filesystem:
    """dlt's filesystem destination; Iceberg appends are committed once per load job."""
    if settings.profile is Profile.LOCAL:
        return idempotent_filesystem(bucket_url=settings.warehouse_uri)
    rest = settings.rest
    assert rest is not None
    return idempotent_filesystem(
        bucket_url=settings.warehouse_uri,
        credentials=AwsCredentials(
            aws_access_key_id=rest.s3_access_key_id,
            aws_secret_access_key=rest.s3_secret_access_key,
            region_name=rest.s3_region,
            endpoint_url=rest.s3_endpoint,
        ),
    )


def make_pipeline(settings: Settings | None = None, name: str = PIPELINE_NAME) -> dlt.Pipeline:
    """A dlt pipeline writing Iceberg tables into ``raw`` of the configured catalog."""
    settings = settings or Settings.from_env()
    configure_iceberg_catalog(settings)
    # Opening the catalog once here creates the SQL catalog's tables before dlt's parallel load
    # threads open it (they would race to create them), and makes sure ``raw`` exists.
    ensure_namespace(get_catalog(settings), Layer.RAW)
    return dlt.pipeline(
        pipeline_name=name,
        destination=destination(settings),
        dataset_name=Layer.RAW.value,
        pipelines_dir=str(settings.dlt_pipelines_dir),
        progress="log",
    )
