"""The ml assets' MLflow settings in the cluster, statically: the code location's env (Helm values)
takes the tracking store from a Secret the platform generates, artifacts go to MinIO, and
ml.settings reads exactly that env. Locally, MLflow lives in the data folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from lakehouse.platform import secrets as platform_secrets
from lakehouse.settings import SettingsError
from ml.settings import MlflowSettings


def env_lists(node: Any) -> list[list[dict[str, Any]]]:
    """Every container env list in a values document (lists of {name, value|valueFrom})."""
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "env" and isinstance(value, list):
                found.append(value)
            else:
                found += env_lists(value)
    elif isinstance(node, list):
        for item in node:
            found += env_lists(item)
    return found


def resolve(env: list[dict[str, Any]]) -> dict[str, str]:
    """The env a pod gets, with each secretKeyRef filled from the generator's own Secret."""
    built = {
        spec.name: spec.build({}, rotate=False, new=lambda: "s3cr3t")
        for spec in platform_secrets.SPECS
    }
    out = {}
    for item in env:
        if "value" in item:
            out[item["name"]] = str(item["value"])
        elif ref := item.get("valueFrom", {}).get("secretKeyRef"):
            out[item["name"]] = built.get(ref["name"], {}).get(ref["key"], "<client secret>")
    return out


@pytest.fixture(scope="module")
def code_location_env(values: dict[str, Any]) -> list[dict[str, Any]]:
    lists = [
        e
        for e in env_lists(values["dagster"])
        if any(i.get("name") == "MLFLOW_TRACKING_URI" for i in e)
    ]
    assert lists, "no env list of the dagster values sets MLFLOW_TRACKING_URI"
    return lists[0]


def test_tracking_store_comes_from_a_secret_and_artifacts_go_to_minio(code_location_env) -> None:
    by_name = {item["name"]: item for item in code_location_env}
    uri = by_name["MLFLOW_TRACKING_URI"]
    assert "value" not in uri  # it holds the mlflow role's password
    assert uri["valueFrom"]["secretKeyRef"] == {"name": "lakehouse-mlflow", "key": "tracking-uri"}
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):  # MLflow's S3 client reads these
        assert by_name[name]["valueFrom"]["secretKeyRef"]["name"] == "lakehouse-s3"
    assert by_name["MLFLOW_S3_ENDPOINT_URL"]["value"] == "http://minio:9000"

    settings = MlflowSettings.from_env(resolve(code_location_env))
    assert settings.tracking_uri == "postgresql://mlflow:s3cr3t@lakehouse-postgres:5432/mlflow"
    assert settings.artifact_root == "s3://lakehouse/mlflow"
    assert settings.local_folder() is None


def test_postgres_creates_the_mlflow_database_with_the_secret_password(manifests) -> None:
    init = next(
        m
        for m in manifests
        if m["kind"] == "ConfigMap" and m["metadata"]["name"] == "lakehouse-postgres-init"
    )
    script = init["data"]["10-databases.sh"]
    assert "CREATE DATABASE mlflow OWNER mlflow" in script
    assert "PASSWORD :'mlflow_password'" in script
    deployment = next(
        m
        for m in manifests
        if m["metadata"]["name"] == "lakehouse-postgres"
        and m["kind"] in ("StatefulSet", "Deployment")
    )
    env = {
        e["name"]: e
        for c in deployment["spec"]["template"]["spec"]["containers"]
        for e in c.get("env", [])
    }
    assert env["MLFLOW_DB_PASSWORD"]["valueFrom"]["secretKeyRef"] == {
        "name": "lakehouse-mlflow",
        "key": "password",
    }


def test_k8s_profile_without_the_secret_fails_clearly() -> None:
    with pytest.raises(SettingsError, match="MLFLOW_TRACKING_URI"):
        MlflowSettings.from_env({"LAKEHOUSE_PROFILE": "k8s", "MLFLOW_ARTIFACT_ROOT": "s3://x/y"})


def test_local_profile_keeps_mlflow_in_the_data_folder(tmp_path: Path) -> None:
    settings = MlflowSettings.from_env(
        {"LAKEHOUSE_PROFILE": "local", "LAKEHOUSE_DATA_DIR": str(tmp_path)}
    )
    assert settings.tracking_uri == f"sqlite:///{tmp_path / 'mlflow' / 'mlflow.db'}"
    assert settings.artifact_root == (tmp_path / "mlflow" / "artifacts").as_uri()
    assert settings.local_folder() == tmp_path / "mlflow"
