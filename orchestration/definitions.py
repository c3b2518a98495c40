"""The code location. This module only assembles: each folder of ``orchestration/defs/`` holds
one integration's definitions (dbt, dlt, landing, monitoring), found by Dagster's
``load_from_defs_folder``; the jobs across them, the schedule and the resources are added here."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from orchestration.jobs import lakehouse_job, layer_jobs
from orchestration.resources import build_resources
from orchestration.schedules import daily_lakehouse_schedule, lakehouse_automation

defs = dg.Definitions.merge(
    dg.load_from_defs_folder(path_within_project=Path(__file__).parent),
    dg.Definitions(
        jobs=[*layer_jobs, lakehouse_job],
        schedules=[daily_lakehouse_schedule],
        sensors=[lakehouse_automation],
        resources=build_resources(),
    ),
)
