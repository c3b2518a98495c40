"""The dlt pipeline that lands sources as Iceberg tables in the ``raw`` namespace.

dlt extracts and normalizes to Parquet; the project's destination (``ingestion.destination``)
commits those files to the persistent catalog (``lakehouse.catalog``), so every engine that
reads the catalog (DuckDB, Trino, pyiceberg) sees the tables. Source state stored with the data
is restored into a pipeline whose working folder is new (``ingestion.pipeline_state``).

dlt cannot restore state from a custom destination, so the working folder's state is the one
that counts and must not be dropped: ``restore_from_destination`` is off for the project's
pipelines, which makes dagster-dlt drop only pending packages before a run instead of the whole
working folder (dagster-dlt 0.29.27, ``dagster_dlt/resource.py``). A package a killed run
left pending is finished here first (its commits are exactly once), so nothing of it is dropped.
"""

from __future__ import annotations

import threading
from typing import Any

import dlt
from dlt.common.configuration.providers import CustomLoaderDocProvider

from ingestion.destination import iceberg_destination
from ingestion.pipeline_state import restore_sources
from lakehouse.catalog import ensure_namespace, get_catalog
from lakehouse.layers import Layer
from lakehouse.settings import Settings

PIPELINE_NAME = "shop"
_registering = threading.Lock()  # one registration per provider name, also across threads


def project_settings(name: str) -> dict[str, Any]:
    """dlt settings of the project's pipeline ``name``, under that name's sections only.

    dlt looks a setting up under the pipeline's name first ("Configuration values are searched
    first with the pipeline name prefix", dlt's docs, general-usage/credentials/setup.md), so
    another pipeline in the same process keeps dlt's defaults.
    """
    return {
        # Record which load wrote each row (lineage, and the raw destination's load id), as dlt
        # does for non-Arrow data (dlt's docs, dlt-ecosystem/file-formats/parquet.md).
        name: {"normalize": {"parquet_normalizer": {"add_dlt_load_id": True}}},
        # dlt cannot restore state from a custom destination (see the module's docstring).
        "pipelines": {name: {"restore_from_destination": False}},
    }


def configure(name: str) -> None:
    """Register the settings of pipeline ``name`` with dlt, once per process.

    Through dlt's documented custom config provider (``CustomLoaderDocProvider`` registered
    with ``dlt.config.register_provider``, dlt's docs, general-usage/credentials/setup.md,
    "Custom providers"): it is asked after the environment and TOML files, so an operator's
    setting still wins.
    """
    provider_name = f"lakehouse.pipeline.{name}"
    with _registering:
        if provider_name not in {provider.name for provider in dlt.config.config_providers}:
            provider = CustomLoaderDocProvider(
                provider_name, lambda: project_settings(name), supports_secrets=False
            )
            dlt.config.register_provider(provider)


def make_pipeline(settings: Settings | None = None, name: str = PIPELINE_NAME) -> dlt.Pipeline:
    """A dlt pipeline writing Iceberg tables into ``raw`` of the configured catalog."""
    settings = settings or Settings.from_env()
    configure(name)
    # Opening the catalog once here creates the SQL catalog's tables before dlt's parallel load
    # threads open it (they would race to create them), and makes sure ``raw`` exists.
    catalog = get_catalog(settings)
    ensure_namespace(catalog, Layer.RAW.value)
    pipeline = dlt.pipeline(
        pipeline_name=name,
        destination=iceberg_destination(settings, Layer.RAW.value),
        dataset_name=Layer.RAW.value,
        pipelines_dir=str(settings.dlt_pipelines_dir),
        progress="log",
    )
    restore_sources(pipeline, catalog, Layer.RAW.value)
    if pipeline.has_pending_data:
        pipeline.run()  # no new data: normalizes and loads what a stopped run left pending
    return pipeline
