"""The shape of the asset graph: keys, dependencies, groups, jobs. Any change shows in review."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from ingestion.landing.contract import load_sources
from ingestion.landing.settings import QUARANTINE_TABLE
from ingestion.shop import TABLES as SHOP_TABLES
from lakehouse.layers import (
    HEALTH_NAMESPACE,
    ML_NAMESPACE,
    PUBLISH_NAMESPACE,
    PUBLISHED_LAYERS,
    Layer,
)
from orchestration.defs.dbt.project import dbt_project
from orchestration.defs.dbt.translator import LayerTranslator
from orchestration.defs.landing.assets import landed_tables

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def landing_tables() -> set[str]:
    """The raw tables of the project's contract files, and the quarantine."""
    return {*landed_tables(load_sources()), QUARANTINE_TABLE}


def graph_shape(defs: dg.Definitions) -> dict[str, dict]:
    graph = defs.resolve_asset_graph()
    shape = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        shape[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(parent.to_user_string() for parent in node.parent_keys),
            "partitioned": node.partitions_def is not None,
            "checks": sorted(check.name for check in node.check_keys),
            "automation": node.automation_condition.get_label()
            if node.automation_condition
            else None,
        }
    return shape


def test_asset_graph_matches_snapshot(defs):
    # In process, what `dagster definitions validate` checked in a 7-28 s subprocess.
    dg.Definitions.validate_loadable(defs)
    shape = graph_shape(defs)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(shape, indent=2, sort_keys=True) + "\n")
    expected = json.loads(SNAPSHOT.read_text())
    assert shape == expected, "asset graph changed: review, then UPDATE_SNAPSHOTS=1 pytest"


def test_raw_assets_are_the_dlt_tables(defs):
    """raw holds the shop tables and the landed tables (with their quarantine), nothing else."""
    raw = {k for k in graph_shape(defs) if k.startswith("raw/")}
    # the example contract file (contracts/partners.yml) shows in the graph
    assert "partners_stores" in landing_tables()
    # landed tables are named <source>_<table>; the shop's keys say their source the same way
    shop = {f"raw/shop_{t}" for t in SHOP_TABLES}
    assert raw == shop | {f"raw/{t}" for t in landing_tables()}


def test_no_two_assets_share_the_name_the_ui_shows(defs):
    """The UI's graph and catalog name an asset by the last part of its key: raw/orders and
    silver/orders both showed as "orders". Each name must say which asset it is."""
    keys = defs.resolve_asset_graph().get_all_asset_keys()
    by_name: dict[str, list[str]] = {}
    for key in keys:
        by_name.setdefault(key.path[-1], []).append(key.to_user_string())
    assert len(keys) > 20
    assert {name: ks for name, ks in by_name.items() if len(ks) > 1} == {}
    # the raw assets keep their table's name for what the UI shows as Storage
    graph = defs.resolve_asset_graph()
    orders = graph.get(dg.AssetKey(["raw", "shop_orders"]))
    assert orders.metadata["dagster/table_name"] == "raw.orders"


def test_every_dbt_source_is_produced_by_a_dlt_asset(defs):
    """The one rule that keeps ingestion and transformation one graph."""
    graph = defs.resolve_asset_graph()
    materializable = {k for k in graph.get_all_asset_keys() if graph.get(k).is_materializable}
    manifest = json.loads(dbt_project().manifest_path.read_text())
    translator = LayerTranslator()  # the keys the dbt assets' dependencies carry
    source_keys = {translator.get_asset_key(source) for source in manifest["sources"].values()}
    assert source_keys, "the dbt project declares no sources"
    assert source_keys <= materializable, source_keys - materializable
    # Every source is a dlt table; raw may hold tables no model reads yet (landed files).
    dlt_keys = {k for k in materializable if k.path[0] == Layer.RAW.value}
    assert source_keys <= dlt_keys, source_keys - dlt_keys


def test_one_connected_graph_from_raw_to_gold(defs):
    shape = graph_shape(defs)

    # every non-raw asset reaches raw by following its dependencies
    def reaches_raw(key: str) -> bool:
        deps = shape[key]["deps"]
        return key.startswith("raw/") or any(reaches_raw(d) for d in deps)

    assert all(reaches_raw(k) for k in shape)
    groups = {v["group"] for v in shape.values()}
    # ml: the churn model; health: the data-health figures; publish: the step that publishes a
    # run's silver and gold
    assert groups == {
        *(layer.value for layer in Layer),
        ML_NAMESPACE,
        HEALTH_NAMESPACE,
        PUBLISH_NAMESPACE,
    }
    # keys are <layer>/<name> and the group is the layer
    assert all(k.split("/")[0] == v["group"] for k, v in shape.items())


def test_raw_incremental_models_and_what_they_read_are_partitioned(defs):
    """A partition of a model means "its rows of that business date were built and tested": true
    of the raw loads, the incremental models and the models they read (the views and dim_date,
    re-created and tested for the dates in the same dbt invocation). The rest (full rebuilds
    after them) follow their dependencies."""
    manifest = json.loads(dbt_project().manifest_path.read_text())
    nodes = manifest["nodes"]

    def path(uid: str) -> str:
        return f"{nodes[uid]['config']['schema']}/{nodes[uid]['name']}"

    models = {
        path(uid): node["config"]["materialized"]
        for uid, node in nodes.items()
        if node["resource_type"] == "model"
    }
    assert {"view", "table", "incremental"} <= set(models.values())
    pending = [u for u, n in nodes.items() if n["config"].get("materialized") == "incremental"]
    read_by_incremental = set()
    while pending:
        parents = [p for p in manifest["parent_map"][pending.pop()] if p in nodes]
        read_by_incremental |= {path(p) for p in parents}
        pending.extend(parents)
    assert "bronze/stg_orders" in read_by_incremental and "silver/dim_date" in read_by_incremental
    shape = graph_shape(defs)
    # The churn model: training and evaluation run with the daily jobs (no automation condition:
    # retraining is a job's decision); its scores are written per business date.
    ml = {k: v for k, v in shape.items() if v["group"] == ML_NAMESPACE}
    assert {k: (v["partitioned"], v["automation"]) for k, v in ml.items()} == {
        "ml/churn_model": (False, None),
        "ml/churn_model_evaluation": (False, None),
        "ml/customer_churn_scores": (True, None),
    }
    # The data-health figures: measured after every gold model and the publish step, whole, like the gold marts.
    health = {k: v for k, v in shape.items() if v["group"] == HEALTH_NAMESPACE}
    gold = {key for key in models if key.startswith("gold/")}
    assert set(health) == {"health/tables", "health/quarantined_rows", "health/last_runs"}
    assert all(
        set(v["deps"]) == gold | {"raw/quarantine", "publish/builds"} for v in health.values()
    )
    # The publish step runs with the dbt steps of a run, or with the marts automation rebuilds.
    assert shape["publish/builds"]["partitioned"] is False
    assert shape["publish/builds"]["automation"] == shape["gold/daily_revenue"]["automation"]
    for key, node in shape.items():
        if key in ml or key == "publish/builds":
            continue
        per_date = (
            key.startswith("raw/") or models.get(key) == "incremental" or key in read_by_incremental
        )
        assert node["partitioned"] == per_date, key
        # the rest is rebuilt when its dependencies update, by the automation sensor
        assert (node["automation"] is not None) == (not per_date), key
    sensor = defs.resolve_sensor_def("lakehouse_automation")
    assert sensor.default_status is dg.DefaultSensorStatus.RUNNING


def test_jobs_per_layer_and_for_the_whole_graph(defs):
    graph = defs.resolve_asset_graph()
    for layer in Layer:
        job = defs.resolve_job_def(f"{layer.value}_job")
        expected = {
            k
            for k in graph.get_all_asset_keys()
            if k.path[0] == layer.value and graph.get(k).is_materializable
        }
        if layer in PUBLISHED_LAYERS:  # a silver or gold run publishes what it built
            expected.add(dg.AssetKey([PUBLISH_NAMESPACE, "builds"]))
        assert expected and job.asset_layer.selected_asset_keys == expected, layer
    landing = defs.resolve_job_def("landing_job")
    assert landing.asset_layer.selected_asset_keys == {
        dg.AssetKey([Layer.RAW.value, t]) for t in landing_tables()
    }
    assert landing.partitions_def is not None
    # the data, all of it; the churn model (group ml) has its own job (test_ml_lineage.py)
    full = defs.resolve_job_def("lakehouse_job")
    assert full.asset_layer.selected_asset_keys == {
        k
        for k in graph.get_all_asset_keys()
        if graph.get(k).is_materializable and k.path[0] != ML_NAMESPACE
    }
    assert full.partitions_def is not None
    schedule = defs.resolve_schedule_def("daily_lakehouse_schedule")
    assert schedule.job_name == "lakehouse_job"
    assert schedule.cron_schedule == "0 2 * * *"
