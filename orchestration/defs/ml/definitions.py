"""The churn model's assets, checks and job."""

from __future__ import annotations

import dagster as dg

from orchestration.defs.ml import assets, checks
from orchestration.partitions import business_date_partitions


@dg.definitions
def ml_definitions() -> dg.Definitions:
    ml_job = dg.define_asset_job(
        name="ml_job",
        selection=dg.AssetSelection.groups(assets.GROUP),
        partitions_def=business_date_partitions,
        description="Train, evaluate, promote (blocking check) and score the churn model for a "
        "business date, from the published gold features.",
    )
    return dg.Definitions(
        assets=[assets.churn_model, assets.churn_model_evaluation, assets.customer_churn_scores],
        asset_checks=[checks.champion_promotion, checks.feature_drift],
        jobs=[ml_job],
    )
