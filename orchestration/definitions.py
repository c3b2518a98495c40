"""The code location. This module only assembles; each concern lives in its own module."""

from __future__ import annotations

import dagster as dg

from ingestion.landing.contract import load_sources
from lakehouse.layers import Layer
from orchestration.defs.dbt.assets import lakehouse_dbt_assets
from orchestration.defs.dlt.assets import shop_assets
from orchestration.defs.landing.assets import build_landing_assets, landed_tables
from orchestration.defs.maintenance.checks import build_table_health_checks
from orchestration.defs.maintenance.job import nightly_maintenance_schedule, table_maintenance_job
from orchestration.defs.monitoring.checks import build_raw_table_checks
from orchestration.defs.monitoring.sensors import lakehouse_run_failure_sensor
from orchestration.jobs import lakehouse_job, landing_job, layer_jobs
from orchestration.resources import build_resources
from orchestration.schedules import daily_lakehouse_schedule

# The landed sources come from their contract files, read here (LANDING_CONTRACTS_DIR).
sources = load_sources()
landing_assets = build_landing_assets(sources)
# Tables that are (or, once published, will be) Iceberg tables of the catalog.
iceberg_keys = [
    *shop_assets.keys,
    *landing_assets.keys,
    *(k for k in lakehouse_dbt_assets.keys if k.path[0] in {Layer.SILVER, Layer.GOLD}),
]

defs = dg.Definitions(
    assets=[shop_assets, landing_assets, lakehouse_dbt_assets],
    asset_checks=[
        build_raw_table_checks(landed_tables(sources)),
        build_table_health_checks(sorted(iceberg_keys, key=lambda k: k.to_user_string())),
    ],
    jobs=[*layer_jobs, landing_job(landing_assets), lakehouse_job, table_maintenance_job],
    schedules=[daily_lakehouse_schedule, nightly_maintenance_schedule],
    sensors=[lakehouse_run_failure_sensor],
    resources=build_resources(),
)
