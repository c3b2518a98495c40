"""The promotion rule: beat the recency baseline by a margin, and the champion, on held-out data."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ml.settings import MIN_AUC_MARGIN


@dataclass(frozen=True)
class Decision:
    passed: bool  # the candidate is good enough to exist (beats the baseline by the margin)
    promote: bool  # ... and better than the champion: it becomes the champion
    reason: str
    metadata: dict[str, float] = field(default_factory=dict)


def decide(metrics: Mapping[str, float], margin: float = MIN_AUC_MARGIN) -> Decision:
    """Decide from a version's held-out metrics (``ml.evaluation.metrics`` plus champion_auc)."""
    if "auc" not in metrics:
        return Decision(False, False, "the version has no held-out metrics: evaluate it first")
    auc, baseline = metrics["auc"], metrics["baseline_auc"]
    facts = {
        "auc": auc,
        "baseline_auc": baseline,
        "auc_margin": auc - baseline,
        "required_margin": margin,
    }
    if auc - baseline < margin:
        return Decision(
            False,
            False,
            f"AUC {auc:.4f} does not beat the recency baseline {baseline:.4f} by {margin}",
            facts,
        )
    champion = metrics.get("champion_auc")
    if champion is not None:
        facts["champion_auc"] = champion
        if auc <= champion:
            return Decision(
                True,
                False,
                f"AUC {auc:.4f} beats the baseline but not the champion ({champion:.4f}): kept",
                facts,
            )
    return Decision(
        True, True, f"AUC {auc:.4f} beats baseline {baseline:.4f} and the champion", facts
    )
