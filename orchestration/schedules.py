"""The daily run (yesterday's business date through the whole graph) and the automation that
lets the unpartitioned models follow their dependencies between runs."""

from __future__ import annotations

import dagster as dg

from orchestration.jobs import lakehouse_job

daily_lakehouse_schedule = dg.build_schedule_from_partitioned_job(
    lakehouse_job, hour_of_day=2, minute_of_hour=0, name="daily_lakehouse_schedule"
)

# Evaluates the models' automation conditions (translator.FOLLOW_DEPENDENCIES): after a layer job
# or a backfill of partitions, the marts downstream are rebuilt without a run of their own.
# Running by default, or "following through automation" would need a click in the UI first.
lakehouse_automation = dg.AutomationConditionSensorDefinition(
    "lakehouse_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
