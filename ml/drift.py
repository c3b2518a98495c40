"""Population stability index (PSI) of each feature: scored rows against the training rows.

The training distribution is kept with the model (its quantile bins and the share of training
rows in each, an MLflow artifact), so the check needs neither the training cutoffs, which move
as data arrives, nor old snapshots of the feature table, which maintenance expires.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.features import FEATURES

BINS = 10
_FLOOR = 1e-4  # keeps empty bins from dividing by zero

Reference = dict[str, dict[str, list[float]]]


def _shares(values: np.ndarray, inner_edges: list[float], bins: int) -> np.ndarray:
    counts = np.bincount(np.searchsorted(inner_edges, values, side="right"), minlength=bins)
    return counts / max(len(values), 1)


def reference(training: pd.DataFrame, bins: int = BINS) -> Reference:
    """Per feature: inner edges of the training quantile bins (distinct, so ties share a bin)
    and the share of training rows in each bin."""
    out: Reference = {}
    for feature in FEATURES:
        values = training[feature].to_numpy(float)
        inner = np.unique(np.quantile(values, np.linspace(0, 1, bins + 1)))[1:-1].tolist()
        out[feature] = {"edges": inner, "shares": _shares(values, inner, len(inner) + 1).tolist()}
    return out


def feature_psi(ref: Reference, scored: pd.DataFrame) -> dict[str, float]:
    psi = {}
    for feature, bins in ref.items():
        expected = np.maximum(np.asarray(bins["shares"]), _FLOOR)
        actual = _shares(scored[feature].to_numpy(float), bins["edges"], len(expected))
        actual = np.maximum(actual, _FLOOR)
        psi[feature] = float(np.sum((actual - expected) * np.log(actual / expected)))
    return psi
