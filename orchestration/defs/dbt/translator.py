"""Asset keys for dbt nodes: ``<layer>/<model>``, the layer being the model's schema."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtProject

# dagster-dbt puts the DbtProject object itself in every asset's metadata; the UI can only show it
# as "(unserializable)". Without it dbt runs in the resource's project_dir, the same folder.
PROJECT_METADATA_KEY = "dagster_dbt/project"

# The models after the incremental ones (the gold marts) are rebuilt whole. They follow their
# dependencies: once any of them updates (a silver partition), the model is requested.
# Dagster's `eager` minus its "no dependency missing" term: a daily-partitioned dependency always
# has dates nobody loaded (the shop starts in 2024), which would block a mart forever.
FOLLOW_DEPENDENCIES = (
    dg.AutomationCondition.eager()
    .without(~dg.AutomationCondition.any_deps_missing())
    .with_label("eager, despite dates never loaded")
)


def is_incremental(dbt_resource_props: Mapping[str, Any]) -> bool:
    return dbt_resource_props.get("config", {}).get("materialized") == "incremental"


def partitioned(manifest: Mapping[str, Any], unique_id: str) -> bool:
    """An incremental model, or a model one reads (``assets.PARTITIONED_MODELS``, dbt's
    ``+config.materialized:incremental``): built per business date by the schedule."""
    nodes, pending, seen = manifest["nodes"], [unique_id], set()
    while pending:
        uid = pending.pop()
        if uid in seen:
            continue
        seen.add(uid)
        if uid in nodes and is_incremental(nodes[uid]):
            return True
        pending.extend(manifest["child_map"].get(uid, []))
    return False


class LayerTranslator(DagsterDbtTranslator):
    """Models are keyed by the schema they build into (bronze/silver/gold), read from the manifest.

    Sources take dagster-dbt's default: the key in their ``meta.dagster.asset_key``
    (``raw/shop_<table>``, in ``__sources.yml``), exactly the key of the dlt asset that loads the
    table, so the graph is one piece. Owners come from the
    models' ``meta.dagster.owners`` (set per layer in ``dbt_project.yml``), dagster-dbt's default.
    """

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        metadata = {k: v for k, v in spec.metadata.items() if k != PROJECT_METADATA_KEY}
        if partitioned(manifest, unique_id):  # by the schedule and backfills, per date
            return spec.replace_attributes(metadata=metadata, automation_condition=None)
        return spec.replace_attributes(metadata=metadata)

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in {"model", "snapshot", "seed"}:
            return dg.AssetKey([dbt_resource_props["config"]["schema"], dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] in {"model", "snapshot", "seed"}:
            return dbt_resource_props["config"]["schema"]
        return super().get_group_name(dbt_resource_props)

    def get_automation_condition(
        self, dbt_resource_props: Mapping[str, Any]
    ) -> dg.AutomationCondition | None:
        if dbt_resource_props["resource_type"] == "model":
            return FOLLOW_DEPENDENCIES  # the partitioned ones drop it (get_asset_spec)
        return None
