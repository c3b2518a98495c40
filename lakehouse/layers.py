"""The medallion layers, named once. Each layer is an Iceberg namespace (Trino schema)."""

from __future__ import annotations

from enum import StrEnum


class Layer(StrEnum):
    RAW = "raw"  # dlt lands source data as delivered (append/merge), one table per entity
    BRONZE = "bronze"  # dbt staging: renamed, typed, lightly cleaned views over raw
    SILVER = "silver"  # dbt: deduplicated entities and SCD type 2 dimensions
    GOLD = "gold"  # dbt: star-schema facts and business marts


LAYERS: tuple[Layer, ...] = tuple(Layer)

# Write-audit-publish (lakehouse/publish.py): consumers read these layers only as published builds.
PUBLISHED_LAYERS: tuple[Layer, ...] = (Layer.SILVER, Layer.GOLD)
# On Trino, dbt builds and tests a published layer in its staging namespace first.
STAGING_SUFFIX = "_staging"
# The namespace of the build registry (lakehouse/registry.py).
PUBLISH_NAMESPACE = "publish"
# The namespace of tables the ml assets write (churn scores), read by Trino and dashboards.
ML_NAMESPACE = "ml"
# The namespace of the data-health figures (lakehouse/data_health.py), read by the dashboards.
HEALTH_NAMESPACE = "health"


def staging_namespace(layer: Layer) -> str:
    return f"{layer.value}{STAGING_SUFFIX}"
