"""The churn model's assets for real: LightGBM, MLflow (SQLite store in the data folder) and the
Iceberg scores table, on a feature table with a planted signal (conftest.py)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import numpy as np
import pytest

import lakehouse
from lakehouse.catalog import get_catalog
from lakehouse.settings import Settings
from ml.features import at_cutoff, to_frame
from ml.registry import Registry
from ml.scoring import score
from ml.settings import MIN_AUC_MARGIN, SCORES_TABLE, MlflowSettings
from orchestration.defs.ml import assets, checks
from orchestration.resources import LakehouseResource
from tests.ml.conftest import DATA_END, feature_rows, write_features

SCORE_DATE = DATA_END - timedelta(days=1)


def resources(data_dir: Path) -> dict:
    return {"lakehouse": LakehouseResource(profile="local", data_dir=str(data_dir))}


def train_and_gate(data_dir: Path, instance: dg.DagsterInstance) -> dg.ExecuteInJobResult:
    return dg.materialize(
        [assets.churn_model, assets.churn_model_evaluation, checks.champion_promotion],
        resources=resources(data_dir),
        instance=instance,
        raise_on_error=False,
    )


def score_date(data_dir: Path, instance: dg.DagsterInstance, day: date) -> dg.ExecuteInJobResult:
    return dg.materialize(
        [assets.customer_churn_scores, checks.feature_drift],
        resources=resources(data_dir),
        instance=instance,
        partition_key=day.isoformat(),
        raise_on_error=False,
    )


def check(result: dg.ExecuteInJobResult, name: str) -> dg.AssetCheckEvaluation:
    (evaluation,) = [c for c in result.get_asset_check_evaluations() if c.check_name == name]
    return evaluation


def registry(data_dir: Path) -> Registry:
    return Registry(
        MlflowSettings.from_env({"LAKEHOUSE_PROFILE": "local", "LAKEHOUSE_DATA_DIR": str(data_dir)})
    )


def scores_of(data_dir: Path, day: date):
    table = get_catalog(Settings.from_env()).load_table(SCORES_TABLE).scan().to_arrow().to_pandas()
    return table[table["score_date"] == day].sort_values("customer_id", ignore_index=True)


def test_gate_promotes_a_model_that_beats_the_baseline_and_shuffled_labels_fail(
    lakehouse_dir: Path,
) -> None:
    with dg.instance_for_test() as instance:
        first = train_and_gate(lakehouse_dir, instance)
        gate = check(first, "champion_promotion")
        assert gate.passed, gate.description
        margin = gate.metadata["auc_margin"].value
        assert margin >= MIN_AUC_MARGIN
        assert gate.metadata["required_margin"].value == MIN_AUC_MARGIN
        assert gate.metadata["promoted"].value is True
        reg = registry(lakehouse_dir)
        assert reg.champion().version == 1
        # The evaluation's metadata carries the same figures, computed on the held-out cutoff.
        (evaluated,) = [
            m
            for m in first.get_asset_materialization_events()
            if m.asset_key == assets.EVALUATION_KEY
        ]
        metadata = evaluated.materialization.metadata
        assert metadata["auc"].value - metadata["baseline_auc"].value == pytest.approx(margin)

        # Shuffled labels: the model learns nothing, the blocking check fails, champion stays.
        write_features(lakehouse_dir, feature_rows(shuffle_labels=True))
        second = train_and_gate(lakehouse_dir, instance)
        gate = check(second, "champion_promotion")
        assert not gate.passed
        assert gate.severity is dg.AssetCheckSeverity.ERROR
        assert gate.metadata["auc_margin"].value < MIN_AUC_MARGIN
        assert reg.latest().version == 2
        assert reg.champion().version == 1


def test_scores_are_reproducible_and_a_rerun_replaces_its_date(lakehouse_dir: Path) -> None:
    with dg.instance_for_test() as instance:
        assert train_and_gate(lakehouse_dir, instance).success
        first = score_date(lakehouse_dir, instance, SCORE_DATE)
        assert first.success
        scores = scores_of(lakehouse_dir, SCORE_DATE)
        expected = at_cutoff(to_frame(lakehouse.read("gold.ml_customer_features")), DATA_END)
        assert len(scores) == len(expected)
        assert sorted(scores["customer_id"]) == sorted(expected["customer_id"])
        # The same version scores the same rows the same way, loaded afresh.
        reg = registry(lakehouse_dir)
        again = score(
            reg.load(reg.champion()), expected.sort_values("customer_id", ignore_index=True)
        )
        np.testing.assert_array_equal(scores["churn_probability"].to_numpy(), again.to_numpy())

        # A re-run of the date replaces its scores (same values), another date adds its own.
        assert score_date(lakehouse_dir, instance, SCORE_DATE).success
        rerun = scores_of(lakehouse_dir, SCORE_DATE)
        assert len(rerun) == len(scores)
        np.testing.assert_array_equal(rerun["churn_probability"], scores["churn_probability"])
        earlier = SCORE_DATE - timedelta(days=1)
        assert score_date(lakehouse_dir, instance, earlier).success
        assert len(scores_of(lakehouse_dir, earlier)) == len(expected)
        assert len(scores_of(lakehouse_dir, SCORE_DATE)) == len(scores)


def test_drift_check_warns_on_a_shifted_feature(lakehouse_dir: Path) -> None:
    with dg.instance_for_test() as instance:
        assert train_and_gate(lakehouse_dir, instance).success
        steady = check(score_date(lakehouse_dir, instance, SCORE_DATE), "feature_drift")
        assert steady.passed, steady.description
        write_features(lakehouse_dir, feature_rows(drift_after=DATA_END - timedelta(days=3)))
        drifted = check(score_date(lakehouse_dir, instance, SCORE_DATE), "feature_drift")
        assert not drifted.passed
        assert drifted.severity is dg.AssetCheckSeverity.WARN
        assert drifted.metadata["psi_returned_orders_30d"].value > 0.2
        assert drifted.metadata["psi_recency_days"].value < 0.2


def test_scoring_without_a_champion_fails_clearly(lakehouse_dir: Path) -> None:
    with dg.instance_for_test() as instance:
        result = score_date(lakehouse_dir, instance, SCORE_DATE)
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert "no champion model yet" in failure.message


def test_a_range_backfilled_in_one_run_scores_each_date_in_one_commit(lakehouse_dir: Path) -> None:
    """`dagster asset materialize --select '*' --partition-range A...B` runs the scores asset once
    for the range (single-run backfill policy): every date gets its own scores, and a re-run of
    the range replaces them in one commit (one new metadata file), never duplicating them."""
    first, last = SCORE_DATE - timedelta(days=2), SCORE_DATE
    days = [first + timedelta(days=k) for k in range(3)]
    commits = []
    with dg.instance_for_test() as instance:
        assert train_and_gate(lakehouse_dir, instance).success
        for _attempt in range(2):
            result = dg.materialize(
                [assets.customer_churn_scores, checks.feature_drift],
                resources=resources(lakehouse_dir),
                instance=instance,
                tags={
                    "dagster/asset_partition_range_start": first.isoformat(),
                    "dagster/asset_partition_range_end": last.isoformat(),
                },
            )
            assert result.success
            table = get_catalog(Settings.from_env()).load_table(SCORES_TABLE)
            commits.append(len(table.metadata.metadata_log))
            features = to_frame(lakehouse.read("gold.ml_customer_features"))
            for day in days:
                expected = at_cutoff(features, day + timedelta(days=1))
                assert sorted(scores_of(lakehouse_dir, day)["customer_id"]) == sorted(
                    expected["customer_id"]
                )
    assert commits[1] == commits[0] + 1
