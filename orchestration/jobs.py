"""One job per layer (like ``make run_bronze`` of older stacks), one for the landed files and one
for the whole graph."""

from __future__ import annotations

import dagster as dg

from lakehouse.layers import ML_NAMESPACE, PUBLISH_NAMESPACE, PUBLISHED_LAYERS, Layer
from orchestration.partitions import business_date_partitions


def layer_job(layer: Layer) -> dg.UnresolvedAssetJobDefinition:
    selection = dg.AssetSelection.groups(layer.value)
    if layer in PUBLISHED_LAYERS:  # the run publishes what it built (the publish step)
        selection = selection | dg.AssetSelection.groups(PUBLISH_NAMESPACE)
    return dg.define_asset_job(
        name=f"{layer.value}_job",
        selection=selection,
        partitions_def=business_date_partitions,
        description=f"Materialize the {layer.value} layer for a business date.",
    )


layer_jobs = [layer_job(layer) for layer in Layer]

# The churn model (group ml) runs in its own job after the data: a model that fails its gate
# must not fail the data pipeline's run (orchestration/defs/ml/definitions.py).
lakehouse_job = dg.define_asset_job(
    name="lakehouse_job",
    selection=dg.AssetSelection.all() - dg.AssetSelection.groups(ML_NAMESPACE),
    partitions_def=business_date_partitions,
    description="The data for a business date: dlt into raw, dbt bronze/silver/gold, publish.",
)


def landing_job(landing_assets: dg.AssetsDefinition) -> dg.UnresolvedAssetJobDefinition:
    """The job of the landing assets (built from the contract files when the definitions load)."""
    return dg.define_asset_job(
        name="landing_job",
        selection=dg.AssetSelection.assets(landing_assets),
        partitions_def=business_date_partitions,
        description="Load the files landed for an ingest date into raw (and raw.quarantine).",
    )
