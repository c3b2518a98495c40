"""The time-based split: no training label looks at the held-out period."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from ml.features import FeatureError, time_split

LABEL_DAYS = 28
END = date(2024, 1, 4)  # the day after the latest order date


def frame() -> pd.DataFrame:
    """Weekly cutoffs back 84 days from END plus the last 7 days, as the features model makes
    them; two customers per cutoff, labels null where the window is not over."""
    cutoffs = sorted(
        {END - timedelta(days=7 * k) for k in range(13)}
        | {END - timedelta(days=k) for k in range(7)}
    )
    rows = []
    for cutoff in cutoffs:
        window_end = cutoff + timedelta(days=LABEL_DAYS)
        for customer, churned in ((1, True), (2, False)):
            label = churned if window_end <= END else None
            rows.append((cutoff, customer, window_end, label))
    return pd.DataFrame(rows, columns=["cutoff_date", "customer_id", "label_window_end", "churned"])


def test_training_label_windows_end_by_the_held_out_cutoff() -> None:
    split = time_split(frame())
    assert split.held_out_cutoff == END - timedelta(days=LABEL_DAYS)  # the latest labelled one
    assert set(split.held_out["cutoff_date"]) == {split.held_out_cutoff}
    assert (split.train["label_window_end"] <= split.held_out_cutoff).all()
    # Cutoffs 1-3 weeks before the held-out one are labelled, but their windows reach into the
    # held-out period: they are left out, not trained on.
    overlapping = {split.held_out_cutoff - timedelta(days=7 * k) for k in (1, 2, 3)}
    assert not overlapping & set(split.train_cutoffs)
    assert split.train_cutoffs == tuple(END - timedelta(days=7 * k) for k in range(12, 7, -1))
    assert split.train["churned"].notna().all()


def test_too_little_history_fails_clearly() -> None:
    recent = frame()
    recent = recent[recent["cutoff_date"] > END - timedelta(days=35)]
    with pytest.raises(FeatureError, match="too little history"):
        time_split(recent)
