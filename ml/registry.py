"""The MLflow side: experiment, model versions, their held-out metrics and the champion alias.

Uses MLflow's public client API only (``MlflowClient``, ``mlflow.lightgbm``); the tracking store
and artifact root come from :class:`ml.settings.MlflowSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass

import lightgbm as lgb
import mlflow
import mlflow.lightgbm
from mlflow import MlflowClient
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException

from ml.drift import Reference
from ml.settings import CHAMPION, EXPERIMENT, MODEL_NAME, MlflowSettings

REFERENCE_ARTIFACT = "feature_reference.json"


@dataclass(frozen=True)
class Registry:
    settings: MlflowSettings
    model_name: str = MODEL_NAME

    def client(self) -> MlflowClient:
        folder = self.settings.local_folder()
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        mlflow.set_tracking_uri(self.settings.tracking_uri)
        mlflow.set_registry_uri(self.settings.tracking_uri)
        return MlflowClient(self.settings.tracking_uri, self.settings.tracking_uri)

    def experiment_id(self, client: MlflowClient) -> str:
        experiment = client.get_experiment_by_name(EXPERIMENT)
        if experiment is not None:
            return experiment.experiment_id
        return client.create_experiment(EXPERIMENT, artifact_location=self.settings.artifact_root)

    def register(
        self, booster: lgb.Booster, params: dict[str, str], reference: Reference
    ) -> ModelVersion:
        """Log ``booster`` in a new run (mlflow.lightgbm), with its training feature
        distribution, and register it as a new version."""
        client = self.client()
        with mlflow.start_run(experiment_id=self.experiment_id(client)):
            mlflow.log_params(params)
            mlflow.log_dict(reference, REFERENCE_ARTIFACT)
            info = mlflow.lightgbm.log_model(
                booster,
                name="model",
                registered_model_name=self.model_name,
                pip_requirements=[f"lightgbm=={lgb.__version__}"],
            )
        version = info.registered_model_version
        return client.get_model_version(self.model_name, str(version))

    def latest(self) -> ModelVersion:
        versions = self.client().search_model_versions(
            f"name = '{self.model_name}'", max_results=1, order_by=["version_number DESC"]
        )
        if not versions:
            raise LookupError(f"no version of model {self.model_name!r} is registered yet")
        return versions[0]

    def champion(self) -> ModelVersion | None:
        try:
            return self.client().get_model_version_by_alias(self.model_name, CHAMPION)
        except MlflowException:  # no such alias (or no such model) yet
            return None

    def promote(self, version: ModelVersion) -> None:
        self.client().set_registered_model_alias(self.model_name, CHAMPION, version.version)

    def load(self, version: ModelVersion) -> lgb.Booster:
        self.client()
        return mlflow.lightgbm.load_model(f"models:/{self.model_name}/{version.version}")

    def log_metrics(self, version: ModelVersion, metrics: dict[str, float]) -> None:
        client = self.client()
        for key, value in metrics.items():
            client.log_metric(version.run_id, key, value)

    def metrics(self, version: ModelVersion) -> dict[str, float]:
        return dict(self.client().get_run(version.run_id).data.metrics)

    def params(self, version: ModelVersion) -> dict[str, str]:
        return dict(self.client().get_run(version.run_id).data.params)

    def reference(self, version: ModelVersion) -> Reference:
        """The training feature distribution logged with ``version``."""
        self.client()
        return mlflow.artifacts.load_dict(f"runs:/{version.run_id}/{REFERENCE_ARTIFACT}")
