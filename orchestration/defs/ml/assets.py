"""Training, evaluation and daily scoring of the churn model, downstream of the gold features.

The ``ml`` modules (pandas, LightGBM, scikit-learn, MLflow) are imported in the asset bodies:
a run of these assets needs them, the code location's load does not.
"""

from datetime import date, timedelta

import dagster as dg

from lakehouse.catalog import get_catalog
from ml.settings import SCORES_TABLE
from orchestration.defs.ml.resources import read_features, registry
from orchestration.partitions import business_date_partitions, single_run_backfill
from orchestration.resources import LakehouseResource

GROUP = "ml"
FEATURES_KEY = dg.AssetKey(["gold", "ml_customer_features"])
MODEL_KEY = dg.AssetKey(["ml", "churn_model"])
EVALUATION_KEY = dg.AssetKey(["ml", "churn_model_evaluation"])
SCORES_KEY = dg.AssetKey(["ml", "customer_churn_scores"])


@dg.asset(
    key=MODEL_KEY,
    deps=[FEATURES_KEY],
    group_name=GROUP,
    backfill_policy=single_run_backfill,
    kinds={"lightgbm", "mlflow"},
    description="Trains LightGBM on the cutoffs whose label windows end by the held-out cutoff "
    "(a time-based split) and registers it in MLflow as a new version of customer_churn.",
)
def churn_model(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource
) -> dg.MaterializeResult:
    from ml import drift, model
    from ml.features import labels, time_split

    split = time_split(read_features(lakehouse))
    booster = model.train(split.train)
    version = registry(lakehouse).register(
        booster,
        {
            "train_cutoffs": ",".join(str(c) for c in split.train_cutoffs),
            "held_out_cutoff": str(split.held_out_cutoff),
            "train_rows": str(len(split.train)),
            **{k: str(v) for k, v in model.PARAMS.items()},
            "rounds": str(model.ROUNDS),
        },
        drift.reference(split.train),
    )
    context.log.info(f"registered customer_churn version {version.version}")
    return dg.MaterializeResult(
        metadata={
            "model_version": int(version.version),
            "run_id": version.run_id,
            "train_rows": len(split.train),
            "train_churn_rate": float(labels(split.train).mean()),
            "train_cutoffs": ", ".join(str(c) for c in split.train_cutoffs),
            "held_out_cutoff": str(split.held_out_cutoff),
        }
    )


@dg.asset(
    key=EVALUATION_KEY,
    deps=[MODEL_KEY],
    group_name=GROUP,
    backfill_policy=single_run_backfill,
    kinds={"mlflow"},
    description="The newest version, the recency baseline and the current champion on the "
    "held-out cutoff: AUC, precision at the top 10%, calibration error. Logged to the version's "
    "MLflow run; the blocking check champion_promotion decides on them.",
)
def churn_model_evaluation(lakehouse: LakehouseResource) -> dg.MaterializeResult:
    from ml import evaluation, model
    from ml.features import at_cutoff, labels
    from ml.scoring import score

    reg = registry(lakehouse)
    candidate = reg.latest()
    held_out = at_cutoff(
        read_features(lakehouse), date.fromisoformat(reg.params(candidate)["held_out_cutoff"])
    )
    y = labels(held_out)
    results = evaluation.metrics(
        y, score(reg.load(candidate), held_out).to_numpy(), model.baseline_scores(held_out)
    )
    champion = reg.champion()
    if champion is not None:
        results["champion_auc"] = evaluation.auc(y, score(reg.load(champion), held_out).to_numpy())
        results["champion_version"] = float(champion.version)
    reg.log_metrics(candidate, results)
    return dg.MaterializeResult(metadata={"model_version": int(candidate.version), **results})


@dg.asset(
    key=SCORES_KEY,
    deps=[EVALUATION_KEY, FEATURES_KEY],
    group_name=GROUP,
    partitions_def=business_date_partitions,
    backfill_policy=single_run_backfill,
    kinds={"iceberg", "lightgbm"},
    metadata={"dagster/table_name": SCORES_TABLE, "dagster/storage_kind": "iceberg"},
    description="The champion's churn probability for every customer as of the end of the "
    "business date (features at cutoff date + 1), in the Iceberg table ml.customer_churn_scores; "
    "a re-run replaces the date's scores in one commit.",
)
def customer_churn_scores(
    context: dg.AssetExecutionContext, lakehouse: LakehouseResource
) -> dg.MaterializeResult:
    import pyarrow as pa
    import pyarrow.compute as pc

    from ml.features import at_cutoff
    from ml.scoring import score, scores_table, write_scores

    score_dates = [date.fromisoformat(key) for key in context.partition_keys]
    reg = registry(lakehouse)
    champion = reg.champion()
    if champion is None:
        raise dg.Failure(
            "no champion model yet: materialize ml/churn_model and its evaluation first"
        )
    booster, features = reg.load(champion), read_features(lakehouse)
    scores = pa.concat_tables(
        scores_table(
            day_features := at_cutoff(features, score_date + timedelta(days=1)),
            score(booster, day_features),
            score_date,
            reg.model_name,
            int(champion.version),
        )
        for score_date in score_dates
    )
    # a range (a backfill in one run) is one commit, like a single date
    write_scores(get_catalog(lakehouse.settings()), scores, score_dates)
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": scores.num_rows,
            "model_version": int(champion.version),
            "mean_churn_probability": pc.mean(scores["churn_probability"]).as_py(),
        }
    )
