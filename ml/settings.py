"""Where MLflow keeps runs and models, read from the environment when a run asks (never at import).

Embedded default: a SQLite tracking store and an artifact folder under the data folder. Cluster
(``LAKEHOUSE_PROFILE=k8s``): ``MLFLOW_TRACKING_URI`` (Postgres) and ``MLFLOW_ARTIFACT_ROOT``
(an ``s3://`` URL on MinIO), both from Secrets; MLflow's S3 client reads ``MLFLOW_S3_ENDPOINT_URL``
and the ``AWS_*`` keys from the environment itself.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lakehouse.layers import ML_NAMESPACE
from lakehouse.settings import Profile, Settings, SettingsError

MODEL_NAME = "customer_churn"
CHAMPION = "champion"
EXPERIMENT = "customer_churn"
FEATURES_TABLE = "gold.ml_customer_features"
SCORES_NAMESPACE = ML_NAMESPACE
SCORES_TABLE = f"{SCORES_NAMESPACE}.customer_churn_scores"
# The candidate must beat the recency baseline's held-out AUC by at least this much.
MIN_AUC_MARGIN = 0.02
# Feature drift: a PSI above this warns (the usual rule of thumb: the distribution has shifted
# materially). Here, not in ml.drift, so the check's description needs no numpy or pandas.
WARN_PSI = 0.2


@dataclass(frozen=True)
class MlflowSettings:
    tracking_uri: str
    artifact_root: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MlflowSettings:
        env = os.environ if env is None else env
        if Profile.from_env(env) is Profile.K8S:
            missing = [n for n in ("MLFLOW_TRACKING_URI", "MLFLOW_ARTIFACT_ROOT") if not env.get(n)]
            if missing:
                raise SettingsError(
                    f"the k8s profile needs {', '.join(missing)} (from the mlflow Secret)"
                )
            return cls(env["MLFLOW_TRACKING_URI"], env["MLFLOW_ARTIFACT_ROOT"])
        root = Settings.from_env(env).data_dir / "mlflow"
        return cls(f"sqlite:///{root / 'mlflow.db'}", (root / "artifacts").as_uri())

    def local_folder(self) -> Path | None:
        """The folder to create first (embedded default only)."""
        prefix = "sqlite:///"
        return (
            Path(self.tracking_uri[len(prefix) :]).parent
            if self.tracking_uri.startswith(prefix)
            else None
        )
