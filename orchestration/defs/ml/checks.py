"""The promotion gate (blocking) and the feature drift check (warning) of the churn model."""

from datetime import date, timedelta

import dagster as dg

from ml.promotion import decide
from ml.settings import WARN_PSI
from orchestration.defs.ml.assets import EVALUATION_KEY, SCORES_KEY
from orchestration.defs.ml.resources import read_features, registry
from orchestration.resources import LakehouseResource


@dg.asset_check(
    asset=EVALUATION_KEY,
    name="champion_promotion",
    blocking=True,
    description="Fails when the newest version does not beat the recency baseline's held-out AUC "
    "by the margin (nothing downstream runs); moves the champion alias to it when it also beats "
    "the current champion on the same held-out cutoff.",
)
def champion_promotion(lakehouse: LakehouseResource) -> dg.AssetCheckResult:
    reg = registry(lakehouse)
    candidate = reg.latest()
    decision = decide(reg.metrics(candidate))
    if decision.promote:
        reg.promote(candidate)
    return dg.AssetCheckResult(
        passed=decision.passed,
        description=decision.reason,
        metadata={
            "model_version": int(candidate.version),
            "promoted": decision.promote,
            **decision.metadata,
        },
    )


@dg.asset_check(
    asset=SCORES_KEY,
    name="feature_drift",
    description=f"Warns when a feature's PSI between the champion's training rows and the scored "
    f"date's rows (a range's last date) exceeds {WARN_PSI}.",
)
def feature_drift(
    context: dg.AssetCheckExecutionContext, lakehouse: LakehouseResource
) -> dg.AssetCheckResult:
    from ml.drift import feature_psi  # numpy and pandas: when the check runs, not at load
    from ml.features import at_cutoff

    reg = registry(lakehouse)
    champion = reg.champion()
    if champion is None:
        return dg.AssetCheckResult(passed=True, description="no champion yet: nothing scored")
    # the run's last date: a range backfilled in one run is checked on its newest scores
    cutoff = date.fromisoformat(context.partition_keys[-1]) + timedelta(days=1)
    psi = feature_psi(reg.reference(champion), at_cutoff(read_features(lakehouse), cutoff))
    drifted = {f: round(v, 3) for f, v in psi.items() if v > WARN_PSI}
    return dg.AssetCheckResult(
        passed=not drifted,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"PSI above {WARN_PSI}: {drifted}" if drifted else "no feature drifted",
        metadata={
            "model_version": int(champion.version),
            **{f"psi_{f}": round(v, 4) for f, v in psi.items()},
        },
    )
