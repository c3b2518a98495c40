"""What the ml assets read at run time: the feature table (through ``lakehouse.read``, the one
reading interface) and the MLflow registry, both configured from the run's lakehouse resource.

pandas, LightGBM and MLflow are imported when a run asks, not when the code location loads."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import lakehouse
from ml.settings import FEATURES_TABLE, MlflowSettings
from orchestration.resources import LakehouseResource

if TYPE_CHECKING:
    import pandas as pd

    from ml.registry import Registry


def read_features(resource: LakehouseResource) -> pd.DataFrame:
    """The published ``gold.ml_customer_features``: a build passed its tests, whole or not at all."""
    from ml.features import to_frame

    return to_frame(lakehouse.read(FEATURES_TABLE, settings=resource.settings()))


def registry(resource: LakehouseResource) -> Registry:
    from ml.registry import Registry

    env = {
        **os.environ,
        "LAKEHOUSE_PROFILE": resource.profile,
        "LAKEHOUSE_DATA_DIR": resource.data_dir,
    }
    return Registry(MlflowSettings.from_env(env))
