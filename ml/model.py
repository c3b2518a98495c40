"""The churn classifier (LightGBM) and the recency-only baseline it must beat."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd

from ml.features import labels, matrix

# Fixed seed, one thread and LightGBM's deterministic mode: the same data gives the same model.
# Small trees and a slow rate: a few thousand labelled rows with a noisy label overfit 15 leaves.
PARAMS = {
    "objective": "binary",
    "learning_rate": 0.03,
    "num_leaves": 7,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.9,
    "seed": 17,
    "deterministic": True,
    "num_threads": 1,
    "verbosity": -1,
}
ROUNDS = 150


def train(frame: pd.DataFrame) -> lgb.Booster:
    data = lgb.Dataset(matrix(frame), label=labels(frame), free_raw_data=True)
    return lgb.train(PARAMS, data, num_boost_round=ROUNDS)


def baseline_scores(frame: pd.DataFrame) -> np.ndarray:
    """Recency only: the longer since the last order, the likelier churn (a rank, for AUC)."""
    return frame["recency_days"].to_numpy(dtype=float)
