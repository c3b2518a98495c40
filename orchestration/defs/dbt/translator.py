"""Asset keys for dbt nodes: ``<layer>/<model>``, the layer being the model's schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings


class LayerTranslator(DagsterDbtTranslator):
    """Models are keyed by the schema they build into (bronze/silver/gold), read from the manifest.

    Sources keep dagster-dbt's default key ``[source_name, table]`` = ``raw/<table>``, exactly the
    key of the dlt asset that loads the table, so the graph is one piece.
    """

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in {"model", "snapshot", "seed"}:
            return dg.AssetKey([dbt_resource_props["config"]["schema"], dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] in {"model", "snapshot", "seed"}:
            return dbt_resource_props["config"]["schema"]
        return super().get_group_name(dbt_resource_props)
