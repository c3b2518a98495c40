"""Held-out metrics: AUC, precision at k and calibration (expected calibration error)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

TOP_SHARE = 0.1  # precision@k with k = the top 10% of customers by score
CALIBRATION_BINS = 10


def auc(y: np.ndarray, scores: np.ndarray) -> float:
    return float(roc_auc_score(y, scores))


def precision_at_k(y: np.ndarray, scores: np.ndarray, share: float = TOP_SHARE) -> float:
    k = max(1, round(len(y) * share))
    top = np.argsort(-scores, kind="stable")[:k]
    return float(y[top].mean())


def calibration_error(y: np.ndarray, probabilities: np.ndarray) -> float:
    """Expected calibration error: |mean predicted - observed rate| per decile, weighted."""
    bins = np.minimum((probabilities * CALIBRATION_BINS).astype(int), CALIBRATION_BINS - 1)
    error = 0.0
    for b in np.unique(bins):
        mask = bins == b
        error += mask.mean() * abs(probabilities[mask].mean() - y[mask].mean())
    return float(error)


def metrics(y: np.ndarray, probabilities: np.ndarray, baseline: np.ndarray) -> dict[str, float]:
    model_auc, baseline_auc = auc(y, probabilities), auc(y, baseline)
    return {
        "auc": model_auc,
        "baseline_auc": baseline_auc,
        "auc_margin": model_auc - baseline_auc,
        "precision_at_k": precision_at_k(y, probabilities),
        "baseline_precision_at_k": precision_at_k(y, baseline),
        "calibration_error": calibration_error(y, probabilities),
        "churn_rate": float(y.mean()),
        "rows": float(len(y)),
    }
