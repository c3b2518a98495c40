"""Lineage of the churn model: raw tables -> gold/ml_customer_features -> training -> scores."""

from __future__ import annotations

import dagster as dg

FEATURES = dg.AssetKey(["gold", "ml_customer_features"])
TRAINING = dg.AssetKey(["ml", "churn_model"])
EVALUATION = dg.AssetKey(["ml", "churn_model_evaluation"])
SCORES = dg.AssetKey(["ml", "customer_churn_scores"])


def ancestors(graph, key: dg.AssetKey) -> set[dg.AssetKey]:
    seen, todo = set(), [key]
    while todo:
        for parent in graph.get(todo.pop()).parent_keys:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def test_scores_descend_from_raw_through_the_features_and_the_model(defs) -> None:
    graph = defs.resolve_asset_graph()
    assert graph.get(TRAINING).parent_keys == {FEATURES}
    assert graph.get(EVALUATION).parent_keys == {TRAINING}
    assert graph.get(SCORES).parent_keys == {EVALUATION, FEATURES}
    upstream = ancestors(graph, SCORES)
    assert {TRAINING, FEATURES} <= upstream
    assert {
        dg.AssetKey(["raw", f"shop_{t}"]) for t in ("orders", "customers", "order_items")
    } <= upstream
    # The gate blocks what follows it; drift only warns.
    checks = {key.name: key for key in graph.asset_check_keys}
    assert graph.get_check_spec(checks["champion_promotion"]).blocking
    assert not graph.get_check_spec(checks["feature_drift"]).blocking


def test_the_model_runs_in_its_own_job_after_the_data(defs) -> None:
    """A model failing its gate must not fail the data pipeline's run."""
    ml = set(defs.resolve_job_def("ml_job").asset_layer.executable_asset_keys)
    data = set(defs.resolve_job_def("lakehouse_job").asset_layer.executable_asset_keys)
    assert ml == {TRAINING, EVALUATION, SCORES}
    assert not ml & data and FEATURES in data
    schedule = defs.resolve_schedule_def("daily_ml_schedule")
    assert schedule.job_name == "ml_job"
    assert schedule.cron_schedule == "0 3 * * *"  # after daily_lakehouse_schedule (02:00)
