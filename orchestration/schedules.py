"""The daily run: yesterday's business date through the whole graph."""

from __future__ import annotations

import dagster as dg

from orchestration.jobs import lakehouse_job

daily_lakehouse_schedule = dg.build_schedule_from_partitioned_job(
    lakehouse_job, hour_of_day=2, minute_of_hour=0, name="daily_lakehouse_schedule"
)
