"""The health check of every asset whose table is an Iceberg table of the catalog: raw (the shop's
and the landed tables) and the published silver/gold models. Built from the other folders'
assets when the code location loads; the nightly job and its schedule (``job.py``) load with the
folder. Modules, not their assets, are imported here, so the defs loader finds each asset once."""

from __future__ import annotations

import dagster as dg

from ingestion.landing.contract import load_sources
from lakehouse.layers import PUBLISHED_LAYERS, Layer
from orchestration.defs.dbt import assets as dbt
from orchestration.defs.dlt import assets as dlt
from orchestration.defs.landing import assets as landing
from orchestration.defs.maintenance.checks import build_table_health_checks


@dg.definitions
def table_health_definitions() -> dg.Definitions:
    published = {layer.value for layer in PUBLISHED_LAYERS}
    dbt_keys = [
        key
        for step in (dbt.incremental_dbt_assets, dbt.lakehouse_dbt_assets)
        for key in step.keys
        if key.path[0] in published
    ]
    landed = [
        dg.AssetKey([Layer.RAW.value, table])
        for table in (*landing.landed_tables(load_sources()), landing.QUARANTINE_TABLE)
    ]
    keys = [*dlt.raw_table_keys(), *landed, *dbt_keys]
    return dg.Definitions(
        asset_checks=[build_table_health_checks(sorted(keys, key=lambda k: k.to_user_string()))]
    )
