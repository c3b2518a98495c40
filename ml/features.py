"""The feature table as model inputs, and the time-based split of its labelled cutoffs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

NUMERIC = (
    "tenure_days",
    "recency_days",
    "orders_7d",
    "orders_30d",
    "monetary_30d",
    "returned_orders_30d",
    "cancelled_orders_30d",
)
SEGMENTS = ("consumer", "small_business", "corporate")
FEATURES = (*NUMERIC, *(f"segment_{s}" for s in SEGMENTS))
LABEL = "churned"


class FeatureError(ValueError):
    """The feature table cannot give what was asked (no labelled cutoffs, no such cutoff)."""


def to_frame(table: pa.Table) -> pd.DataFrame:
    """Rows of ``gold.ml_customer_features`` with numeric model inputs, sorted for determinism."""
    frame = table.to_pandas()
    frame["monetary_30d"] = frame["monetary_30d"].astype(float)
    for segment in SEGMENTS:
        frame[f"segment_{segment}"] = (frame["segment"] == segment).astype(float)
    return frame.sort_values(["cutoff_date", "customer_id"], ignore_index=True)


def matrix(frame: pd.DataFrame) -> np.ndarray:
    return frame.loc[:, list(FEATURES)].to_numpy(dtype=float)


def labels(frame: pd.DataFrame) -> np.ndarray:
    return frame[LABEL].astype(int).to_numpy()


@dataclass(frozen=True)
class TimeSplit:
    """Training cutoffs whose label windows end by the held-out cutoff, and that cutoff."""

    train: pd.DataFrame
    held_out: pd.DataFrame
    train_cutoffs: tuple[date, ...]
    held_out_cutoff: date


def time_split(frame: pd.DataFrame) -> TimeSplit:
    """Hold out the latest labelled cutoff; train on the cutoffs whose label window ended by it,
    so no training label looks at the held-out period."""
    labelled = frame[frame[LABEL].notna()]
    if labelled.empty:
        raise FeatureError("no cutoff has a complete label window yet: load more business dates")
    held_out_cutoff = labelled["cutoff_date"].max()
    train = labelled[labelled["label_window_end"] <= held_out_cutoff]
    if train.empty or train[LABEL].nunique() < 2:
        raise FeatureError(
            f"no training cutoff ends its label window by the held-out cutoff {held_out_cutoff} "
            "with both classes: the data holds too little history"
        )
    return TimeSplit(
        train=train,
        held_out=labelled[labelled["cutoff_date"] == held_out_cutoff],
        train_cutoffs=tuple(sorted(train["cutoff_date"].unique())),
        held_out_cutoff=held_out_cutoff,
    )


def at_cutoff(frame: pd.DataFrame, cutoff: date) -> pd.DataFrame:
    rows = frame[frame["cutoff_date"] == cutoff]
    if rows.empty:
        raise FeatureError(
            f"gold.ml_customer_features has no rows at cutoff {cutoff} (it keeps the last 7 "
            "days and weekly cutoffs): rebuild gold for that date first"
        )
    return rows
