"""One paragraph on the churn model for the demo: the champion against the baseline, and scores."""

from __future__ import annotations

from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError

from ml.registry import Registry
from ml.settings import SCORES_TABLE, MlflowSettings


def churn_model_summary(catalog: Catalog, registry: Registry | None = None) -> str:
    registry = registry or Registry(MlflowSettings.from_env())
    champion = registry.champion()
    if champion is None:
        return "\nChurn model: no champion yet (the promotion check has not passed a version)"
    m = registry.metrics(champion)
    lines = [
        f"\nChurn model: champion version {champion.version}, held-out AUC {m['auc']:.3f} against "
        f"{m['baseline_auc']:.3f} for the recency baseline (margin {m['auc'] - m['baseline_auc']:+.3f}); "
        f"precision in the top 10% {m['precision_at_k']:.2f} (baseline {m['baseline_precision_at_k']:.2f})"
    ]
    try:
        scores = catalog.load_table(SCORES_TABLE).scan(selected_fields=("score_date",)).to_arrow()
    except NoSuchTableError:
        return lines[0]
    if scores.num_rows:
        last = max(scores.column("score_date").to_pylist())
        scored = sum(1 for d in scores.column("score_date").to_pylist() if d == last)
        lines.append(f"  {scored:,} customers scored for {last} in {SCORES_TABLE}")
    return "\n".join(lines)
