"""The data-health assets, downstream of every gold model and the publish step."""

from __future__ import annotations

import dagster as dg

from lakehouse.layers import Layer
from orchestration.defs.dbt.publish import PUBLISH_KEY, published_model_keys
from orchestration.defs.health.assets import build_health_assets


@dg.definitions
def health_definitions() -> dg.Definitions:
    # the gold models of the loaded dbt assets: no second read of the manifest at load time
    gold = [key for key in published_model_keys() if key.path[0] == Layer.GOLD.value]
    return dg.Definitions(assets=[build_health_assets([*gold, PUBLISH_KEY])])
