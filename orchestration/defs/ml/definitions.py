"""The churn model's assets, checks, job and daily schedule."""

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
    # An hour after daily_lakehouse_schedule (02:00): gold of the same date is published by then.
    daily_ml_schedule = dg.build_schedule_from_partitioned_job(
        ml_job, hour_of_day=3, minute_of_hour=0, name="daily_ml_schedule"
    )
    return dg.Definitions(
        assets=[assets.churn_model, assets.churn_model_evaluation, assets.customer_churn_scores],
        asset_checks=[checks.champion_promotion, checks.feature_drift],
        jobs=[ml_job],
        schedules=[daily_ml_schedule],
    )
