"""lakehouse.platform.secrets against an in-memory Secret store (the real one needs a cluster)."""

from __future__ import annotations

import itertools
import re
import stat
from pathlib import Path

import yaml

from lakehouse.platform import secrets as platform_secrets
from tests.infrastructure.secret_store_double import MemorySecretStore


def counter():
    numbers = itertools.count()
    return lambda: f"generated-{next(numbers)}"


def test_first_run_creates_every_secret() -> None:
    store = MemorySecretStore()
    outcomes, values = platform_secrets.ensure_secrets(store, new=counter())
    assert {o.action for o in outcomes} == {"created"}
    assert set(store.secrets) == {spec.name for spec in platform_secrets.SPECS}
    assert store.secrets["lakehouse-s3"]["AWS_ACCESS_KEY_ID"] == "lakehouse-app"
    assert store.secrets["lakehouse-s3"]["AWS_SECRET_ACCESS_KEY"].startswith("generated-")
    assert all(
        labels["app.kubernetes.io/managed-by"] == "lakehouse-platform-secrets"
        for labels in store.labels.values()
    )
    assert values["minio-root"] == store.secrets["minio-root"]


def test_second_run_never_rotates() -> None:
    store = MemorySecretStore()
    platform_secrets.ensure_secrets(store, new=counter())
    before = {name: dict(data) for name, data in store.secrets.items()}
    outcomes, _ = platform_secrets.ensure_secrets(store, new=counter())
    assert {o.action for o in outcomes} == {"kept"}
    assert store.secrets == before
    assert [w for w in store.writes if w[1] == "patched"] == []


def test_rotate_replaces_generated_values_only() -> None:
    store = MemorySecretStore()
    platform_secrets.ensure_secrets(store, new=counter())
    before = {name: dict(data) for name, data in store.secrets.items()}
    outcomes, _ = platform_secrets.ensure_secrets(store, rotate=True, new=lambda: "rotated")
    assert {o.action for o in outcomes} == {"rotated"}
    for spec in platform_secrets.SPECS:
        for key in spec.generated:
            assert store.secrets[spec.name][key] == "rotated" != before[spec.name][key]
        for key, value in spec.constants.items():
            assert store.secrets[spec.name][key] == value


def test_a_missing_key_is_completed_without_touching_the_others() -> None:
    store = MemorySecretStore()
    store.secrets["polaris-root"] = {"client-id": "root", "client-secret": "kept-secret"}
    outcomes, _ = platform_secrets.ensure_secrets(store, new=counter())
    assert dict((o.name, o.action) for o in outcomes)["polaris-root"] == "completed"
    root = store.secrets["polaris-root"]
    assert root["client-secret"] == "kept-secret"
    assert yaml.safe_load(root["credentials.yaml"]) == {
        "POLARIS": {"client-id": "root", "client-secret": "kept-secret"}
    }


def test_random_passwords_are_long_and_safe_in_every_format() -> None:
    values = {platform_secrets.random_password() for _ in range(50)}
    assert len(values) == 50
    for value in values:
        assert len(value) >= 40
        assert re.fullmatch(r"[A-Za-z0-9_-]+", value), value  # no ',' ':' quotes or spaces


def test_credentials_file_is_private_and_complete(tmp_path: Path) -> None:
    store = MemorySecretStore()
    _, values = platform_secrets.ensure_secrets(store, new=counter())
    values["polaris-ingestion-writer"] = {"client-id": "cid", "client-secret": "csecret"}
    target = tmp_path / ".secrets" / "credentials.env"
    platform_secrets.write_credentials(target, platform_secrets.credentials_env(values))
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    env = dict(
        line.split("=", 1)
        for line in target.read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert env["MINIO_ROOT_PASSWORD"] == store.secrets["minio-root"]["rootPassword"]
    assert env["AWS_SECRET_ACCESS_KEY"] == store.secrets["lakehouse-s3"]["AWS_SECRET_ACCESS_KEY"]
    assert env["ICEBERG_REST_CLIENT_SECRET"] == "csecret"
    assert env["S3_ENDPOINT"] == "http://localhost:9000"
    assert env["LAKEHOUSE_PROFILE"] == "k8s"
    superset = store.secrets[platform_secrets.SUPERSET_SECRET]
    assert env["SUPERSET_ADMIN_USER"] == superset["SUPERSET_ADMIN_USER"] == "admin"
    assert env["SUPERSET_ADMIN_PASSWORD"] == superset["SUPERSET_ADMIN_PASSWORD"]
    assert env["SUPERSET_ADMIN_PASSWORD"].startswith("generated-")
    # The metadata DB password and the signing key are for the pods only, not for people.
    assert superset["SUPERSET_SECRET_KEY"] not in env.values()
    assert superset["SUPERSET_DB_PASSWORD"] not in env.values()


def test_main_generate_then_export(tmp_path: Path, capsys) -> None:
    store = MemorySecretStore()
    out = tmp_path / "credentials.env"
    assert platform_secrets.main(["generate", "--output", str(out)], store=store) == 0
    first = out.read_text()
    store.secrets["polaris-ingestion-writer"] = {"client-id": "w", "client-secret": "ws"}
    assert platform_secrets.main(["export", "--output", str(out)], store=store) == 0
    assert "ICEBERG_REST_CLIENT_SECRET=ws" in out.read_text()
    assert "ICEBERG_REST_CLIENT_SECRET=\n" in first
    assert "secret/minio-root: created" in capsys.readouterr().out


def test_credentials_folder_is_git_ignored() -> None:
    ignore = (platform_secrets.REPO_ROOT / ".gitignore").read_text().splitlines()
    assert "infrastructure/.secrets/" in ignore
    assert platform_secrets.CREDENTIALS_FILE.parent.name == ".secrets"
