"""Scores of one business date into the Iceberg table ``ml.customer_churn_scores``.

One commit per run (a date, or a range backfilled in one run): pyiceberg's ``overwrite`` with a filter on ``score_date`` deletes those
dates' previous scores and appends the new ones in a single snapshot, so a re-run replaces a
date's scores and a failed run leaves the previous ones in place.
"""

from __future__ import annotations

from datetime import date

import lightgbm as lgb
import pandas as pd
import pyarrow as pa
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import In
from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.table import Table
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import DateType, DoubleType, LongType, NestedField, StringType

from lakehouse.catalog import ensure_namespace
from ml.features import matrix
from ml.settings import SCORES_NAMESPACE, SCORES_TABLE

SCHEMA = Schema(
    NestedField(1, "score_date", DateType(), required=True),
    NestedField(2, "cutoff_date", DateType(), required=True),
    NestedField(3, "customer_id", LongType(), required=True),
    NestedField(4, "churn_probability", DoubleType(), required=True),
    NestedField(5, "model_name", StringType(), required=True),
    NestedField(6, "model_version", LongType(), required=True),
)
SPEC = PartitionSpec(PartitionField(1, 1000, IdentityTransform(), "score_date"))


def score(booster: lgb.Booster, features: pd.DataFrame) -> pd.Series:
    return pd.Series(booster.predict(matrix(features)), index=features.index)


def scores_table(
    features: pd.DataFrame, probabilities: pd.Series, score_date: date, model: str, version: int
) -> pa.Table:
    return pa.Table.from_pydict(
        {
            "score_date": [score_date] * len(features),
            "cutoff_date": list(features["cutoff_date"]),
            "customer_id": features["customer_id"].astype("int64").to_list(),
            "churn_probability": probabilities.astype(float).to_list(),
            "model_name": [model] * len(features),
            "model_version": [version] * len(features),
        },
        schema=SCHEMA.as_arrow(),
    )


def scores_iceberg_table(catalog: Catalog) -> Table:
    """The scores table, created on first use (in the cluster its namespace exists already)."""
    ensure_namespace(catalog, SCORES_NAMESPACE)
    return catalog.create_table_if_not_exists(SCORES_TABLE, schema=SCHEMA, partition_spec=SPEC)


def write_scores(catalog: Catalog, scores: pa.Table, score_dates: list[date]) -> None:
    """Replace the scores of ``score_dates`` with ``scores`` in one Iceberg commit."""
    table = scores_iceberg_table(catalog)
    table.overwrite(scores, overwrite_filter=In("score_date", [d.isoformat() for d in score_dates]))
