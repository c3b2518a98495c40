"""The landed sources' definitions, built from their contract files (LANDING_CONTRACTS_DIR)
when the code location loads: one asset per landed table, their job and the raw tables' checks."""

from __future__ import annotations

import dagster as dg

from ingestion.landing.contract import load_sources
from orchestration.defs.landing.assets import build_landing_assets, landed_tables
from orchestration.defs.monitoring.checks import build_raw_table_checks
from orchestration.jobs import landing_job


@dg.definitions
def landing_definitions() -> dg.Definitions:
    sources = load_sources()
    landing_assets = build_landing_assets(sources)
    return dg.Definitions(
        assets=[landing_assets],
        asset_checks=[build_raw_table_checks(landed_tables(sources))],
        jobs=[landing_job(landing_assets)],
    )
