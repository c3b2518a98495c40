"""The code location. This module only assembles; each concern lives in its own module."""

from __future__ import annotations

import dagster as dg

from ingestion.landing.contract import load_sources
from orchestration.defs.dbt.assets import incremental_dbt_assets, lakehouse_dbt_assets
from orchestration.defs.dlt.assets import shop_assets
from orchestration.defs.landing.assets import build_landing_assets, landed_tables
from orchestration.defs.monitoring.checks import build_raw_table_checks
from orchestration.defs.monitoring.sensors import lakehouse_run_failure_sensor
from orchestration.jobs import lakehouse_job, landing_job, layer_jobs
from orchestration.resources import build_resources
from orchestration.schedules import daily_lakehouse_schedule, lakehouse_automation

# The landed sources come from their contract files, read here (LANDING_CONTRACTS_DIR).
sources = load_sources()
landing_assets = build_landing_assets(sources)

defs = dg.Definitions(
    assets=[shop_assets, landing_assets, incremental_dbt_assets, lakehouse_dbt_assets],
    asset_checks=[build_raw_table_checks(landed_tables(sources))],
    jobs=[*layer_jobs, landing_job(landing_assets), lakehouse_job],
    schedules=[daily_lakehouse_schedule],
    sensors=[lakehouse_run_failure_sensor, lakehouse_automation],
    resources=build_resources(),
)
