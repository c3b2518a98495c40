"""The data-health assets, downstream of every gold model of the dbt manifest and the publish step."""

from __future__ import annotations

import dagster as dg

from lakehouse.layers import Layer
from orchestration.defs.dbt.project import dbt_project_manifest
from orchestration.defs.dbt.publish import PUBLISH_KEY
from orchestration.defs.dbt.translator import LayerTranslator
from orchestration.defs.health.assets import build_health_assets


@dg.definitions
def health_definitions() -> dg.Definitions:
    translator = LayerTranslator()
    models = [
        node
        for node in dbt_project_manifest()["nodes"].values()
        if node["resource_type"] == "model"
    ]
    gold = sorted(
        (key for key in map(translator.get_asset_key, models) if key.path[0] == Layer.GOLD.value),
        key=lambda key: key.to_user_string(),
    )
    return dg.Definitions(assets=[build_health_assets([*gold, PUBLISH_KEY])])
