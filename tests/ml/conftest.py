"""A churn feature table with a planted signal, published as gold.ml_customer_features in a
fresh embedded lakehouse, so the ml assets run for real (MLflow, Iceberg) on known data."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from lakehouse.catalog import get_catalog
from lakehouse.settings import Settings

DATA_END = date(2024, 1, 4)  # the day after the latest order date
LABEL_DAYS = 28
CUSTOMERS = 500

SCHEMA = pa.schema(
    [
        ("cutoff_date", pa.date32()),
        ("customer_id", pa.int64()),
        ("segment", pa.string()),
        ("tenure_days", pa.int64()),
        ("recency_days", pa.int64()),
        ("orders_7d", pa.int64()),
        ("orders_30d", pa.int64()),
        ("monetary_30d", pa.decimal128(18, 2)),
        ("returned_orders_30d", pa.int64()),
        ("cancelled_orders_30d", pa.int64()),
        ("label_window_end", pa.date32()),
        ("churned", pa.bool_()),
    ]
)


def cutoffs() -> list[date]:
    """As gold.ml_customer_features makes them: weekly back from the end, plus the last 7 days."""
    weekly = [DATA_END - timedelta(days=7 * k) for k in range(13)]
    daily = [DATA_END - timedelta(days=k) for k in range(7)]
    return sorted(set(weekly + daily))


def feature_rows(
    seed: int = 0, shuffle_labels: bool = False, drift_after: date | None = None
) -> pa.Table:
    """Churn depends on returns and a fading frequency more than on recency.

    ``shuffle_labels``: the training cutoffs' labels are permuted (the held-out cutoff, the
    latest labelled one, keeps the true labels the model is judged on).
    ``drift_after``: rows at later cutoffs get tenfold returns (a shifted distribution).
    """
    rng = np.random.default_rng(seed)
    held_out = max(c for c in cutoffs() if c + timedelta(days=LABEL_DAYS) <= DATA_END)
    parts = []
    for cutoff in cutoffs():
        n = CUSTOMERS
        orders_30d = rng.integers(2, 30, n)
        fading = rng.random(n) < 0.15
        orders_7d = np.where(fading, orders_30d // 12, orders_30d // 4)
        returned = rng.poisson(np.where(rng.random(n) < 0.15, 3.0, 0.3))
        recency = rng.integers(1, 31, n)
        if drift_after is not None and cutoff > drift_after:
            returned = returned * 10
        logit = -5.0 + 3.0 * fading + 0.8 * returned + 0.08 * recency
        churned = rng.random(n) < 1 / (1 + np.exp(-logit))
        window_end = cutoff + timedelta(days=LABEL_DAYS)
        if shuffle_labels and cutoff < held_out:
            churned = rng.permutation(churned)
        labelled = window_end <= DATA_END
        parts.append(
            pa.Table.from_pydict(
                {
                    "cutoff_date": [cutoff] * n,
                    "customer_id": np.arange(1, n + 1),
                    "segment": rng.choice(["consumer", "small_business", "corporate"], n).tolist(),
                    "tenure_days": rng.integers(30, 700, n),
                    "recency_days": recency,
                    "orders_7d": orders_7d,
                    "orders_30d": orders_30d,
                    "monetary_30d": [
                        Decimal(int(x)) / 100 for x in rng.integers(1_000, 500_000, n)
                    ],
                    "returned_orders_30d": returned,
                    "cancelled_orders_30d": rng.poisson(0.2, n),
                    "label_window_end": [window_end] * n,
                    "churned": churned.tolist() if labelled else [None] * n,
                },
                schema=SCHEMA,
            )
        )
    return pa.concat_tables(parts)


def write_features(data_dir: Path, table: pa.Table) -> None:
    """Replace gold.ml_customer_features (the published build is its current snapshot here)."""
    catalog = get_catalog(
        Settings.from_env({"LAKEHOUSE_PROFILE": "local", "LAKEHOUSE_DATA_DIR": str(data_dir)})
    )
    catalog.create_namespace_if_not_exists("gold")
    iceberg = catalog.create_table_if_not_exists("gold.ml_customer_features", schema=SCHEMA)
    iceberg.overwrite(table)


@pytest.fixture
def lakehouse_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data_dir = tmp_path / "data"
    monkeypatch.setenv("LAKEHOUSE_PROFILE", "local")
    monkeypatch.setenv("LAKEHOUSE_DATA_DIR", str(data_dir))
    write_features(data_dir, feature_rows())
    return data_dir
