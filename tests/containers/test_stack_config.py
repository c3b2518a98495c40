"""The container stack mirrors the cluster's configuration (checked without Docker)."""

from __future__ import annotations

from pathlib import Path

import yaml

from lakehouse.paths import REPO_ROOT
from lakehouse.settings import Profile, Settings
from tests.containers import stack

HELM = REPO_ROOT / "infrastructure" / "helm"


def properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def test_trino_catalog_file_has_the_production_keys() -> None:
    values_file = HELM / "values" / "trino.yaml"
    assert values_file.is_file(), f"{values_file} is tracked: was it deleted?"
    production = properties(yaml.safe_load(values_file.read_text())["catalogs"]["iceberg"])
    ours = properties(stack.trino_catalog({"client-id": "id", "client-secret": "secret"}))
    assert set(ours) == set(production)
    # Same services and behaviour; only the credentials differ (${ENV:...} there, literals here).
    for key in set(production) - {
        "iceberg.rest-catalog.oauth2.credential",
        "s3.aws-access-key",
        "s3.aws-secret-key",
    }:
        assert ours[key] == production[key], key


def test_images_follow_the_chart_pins() -> None:
    charts_file = HELM / "charts.yaml"
    assert charts_file.is_file(), f"{charts_file} is tracked: was it deleted?"
    pinned = {
        image
        for release in yaml.safe_load(charts_file.read_text()).get("releases", [])
        for image in release.get("images", [])
    }
    for image in (stack.POLARIS_IMAGE, stack.MINIO_IMAGE, stack.TRINO_IMAGE):
        assert image in pinned, f"{image} is not pinned in {charts_file}"


def test_client_env_is_a_valid_k8s_profile(tmp_path: Path) -> None:
    secrets = stack.MemorySecretStore(
        {"polaris-ingestion-writer": {"client-id": "cid", "client-secret": "csecret"}}
    )
    demo = stack.Stack("http://localhost:9000", "http://localhost:8181", "localhost", 8080, secrets)
    settings = Settings.from_env(demo.client_env("ingestion_writer", tmp_path))
    assert settings.profile is Profile.K8S
    assert settings.rest is not None and settings.rest.uri == "http://localhost:8181/api/catalog"
    assert settings.rest.client_id == "cid"
    assert settings.warehouse_uri == "s3://lakehouse/warehouse"
