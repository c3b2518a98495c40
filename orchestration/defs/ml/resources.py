"""What the ml assets read at run time: the feature table (through ``lakehouse.read``, the one
reading interface) and the MLflow registry, both configured from the run's lakehouse resource."""

from __future__ import annotations

import os

import pandas as pd

import lakehouse
from ml.features import to_frame
from ml.registry import Registry
from ml.settings import FEATURES_TABLE, MlflowSettings
from orchestration.resources import LakehouseResource


def read_features(resource: LakehouseResource) -> pd.DataFrame:
    """The published ``gold.ml_customer_features``: a build passed its tests, whole or not at all."""
    return to_frame(lakehouse.read(FEATURES_TABLE, settings=resource.settings()))


def registry(resource: LakehouseResource) -> Registry:
    env = {
        **os.environ,
        "LAKEHOUSE_PROFILE": resource.profile,
        "LAKEHOUSE_DATA_DIR": resource.data_dir,
    }
    return Registry(MlflowSettings.from_env(env))
