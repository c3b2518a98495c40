"""Population stability index (PSI) of each feature, scored rows against training rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ml.features import FEATURES

BINS = 10
WARN_PSI = 0.2  # the usual rule of thumb: above 0.2 the distribution has shifted materially
_FLOOR = 1e-4  # keeps empty bins from dividing by zero


def psi(expected: np.ndarray, actual: np.ndarray, bins: int = BINS) -> float:
    """PSI over the expected sample's quantile bins (distinct edges, so ties share a bin)."""
    edges = np.unique(np.quantile(expected, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        return 0.0 if np.all(actual == edges[0]) else float("inf")
    inner = edges[1:-1]
    e = np.bincount(np.searchsorted(inner, expected, side="right"), minlength=len(edges) - 1)
    a = np.bincount(np.searchsorted(inner, actual, side="right"), minlength=len(edges) - 1)
    e = np.maximum(e / e.sum(), _FLOOR)
    a = np.maximum(a / a.sum(), _FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def feature_psi(training: pd.DataFrame, scored: pd.DataFrame) -> dict[str, float]:
    return {f: psi(training[f].to_numpy(float), scored[f].to_numpy(float)) for f in FEATURES}
