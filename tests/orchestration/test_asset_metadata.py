"""What the UI shows about each asset: kinds, table names, descriptions, owners, checks."""

from __future__ import annotations

import json

import dagster as dg
import yaml

from ingestion.shop import TABLES as SHOP_TABLES
from lakehouse.paths import DBT_PROJECT_DIR


def raw_source_yaml() -> dict:
    """The dbt source ``raw`` as written in the project (not as the code reads the manifest)."""
    sources = yaml.safe_load((DBT_PROJECT_DIR / "models/bronze/__sources.yml").read_text())
    return next(s for s in sources["sources"] if s["name"] == "raw")


def test_raw_assets_are_iceberg_tables_named_and_described_as_the_dbt_source(defs):
    graph = defs.resolve_asset_graph()
    source = raw_source_yaml()
    described = {t["name"]: " ".join(t["description"].split()) for t in source["tables"]}
    assert set(described) == set(SHOP_TABLES)
    for key in graph.get_all_asset_keys():
        if key.path[0] != "raw":
            continue
        node = graph.get(key)
        assert node.kinds == {"dlt", "iceberg"}, key
        assert node.metadata["dagster/table_name"] == f"raw.{key.path[-1]}", key
        assert node.metadata["dagster/storage_kind"] == "iceberg", key
        assert node.description, f"{key} has no description"
        if key.path[-1] in described:
            assert " ".join(node.description.split()) == described[key.path[-1]]
            assert node.owners == [source["config"]["meta"]["owner"]]


def test_dbt_assets_have_owners_and_only_serializable_metadata(defs):
    graph = defs.resolve_asset_graph()
    dbt_layers = {"bronze", "silver", "gold"}
    dbt_keys = [k for k in graph.get_all_asset_keys() if k.path[0] in dbt_layers]
    assert len(dbt_keys) >= 15
    for key in dbt_keys:
        node = graph.get(key)
        assert "dagster_dbt/project" not in node.metadata, key
        expected = ["team:analytics"] if key.path[0] == "gold" else ["team:data-engineering"]
        assert node.owners == expected, key
        assert "dbt" in node.kinds and node.kinds & {"duckdb", "trino"}, key


def test_every_dbt_data_test_is_an_asset_check(defs):
    """Singular tests reading two models included (they name their asset in meta.dagster.ref)."""
    from orchestration.defs.dbt.project import dbt_project

    manifest = json.loads(dbt_project().manifest_path.read_text())
    tests = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "test"}
    assert {
        "assert_order_totals_match_items",
        "assert_daily_revenue_matches_fct_order_items",
    } <= tests
    graph = defs.resolve_asset_graph()
    checks: dict[str, dg.AssetKey] = {}
    for key in graph.get_all_asset_keys():
        for check in graph.get(key).check_keys:
            checks[check.name] = key
    assert tests <= set(checks), tests - set(checks)
    assert checks["assert_order_totals_match_items"] == dg.AssetKey(["gold", "fct_orders"])
    assert checks["assert_daily_revenue_matches_fct_order_items"] == dg.AssetKey(
        ["gold", "daily_revenue"]
    )
