"""The code-location image (infrastructure/docker/Dockerfile), checked as text: no Docker here."""

from __future__ import annotations

from typing import Any

from tests.infrastructure import infra_checks as checks

DOCKERFILE = checks.DOCKERFILE.read_text()


def test_dockerfile_builds_non_root_with_locked_deps_and_the_trino_manifest() -> None:
    assert checks.dockerfile_violations(DOCKERFILE) == []


def test_uid_matches_every_pod_security_context(values: dict[str, Any], manifest_files) -> None:
    uid = checks.dockerfile_uid(DOCKERFILE)
    assert uid == 10001
    dagster = values["dagster"]
    (deployment,) = dagster["dagster-user-deployments"]["deployments"]
    run_pod = dagster["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]["podSpecConfig"]
    assert deployment["podSecurityContext"]["runAsUser"] == uid
    assert run_pod["securityContext"]["runAsUser"] == uid
    for name in ("polaris-bootstrap-job.yaml", "dbt-docs.yaml"):
        for doc in manifest_files[name]:
            for loc, pod in checks.pod_specs(doc):
                assert pod["securityContext"]["runAsUser"] == uid, loc


def test_docs_site_is_built_without_a_live_trino() -> None:
    assert (
        "dbt docs generate --target trino --target-path target/trino --no-compile --empty-catalog --static"
        in DOCKERFILE
    )
    assert "/app/dbt-docs/index.html" in DOCKERFILE


def test_dagster_home_is_writable_by_the_image_user() -> None:
    assert "DAGSTER_HOME=/opt/dagster/dagster_home" in DOCKERFILE
    assert "chown -R 10001:10001 /app /opt/dagster/dagster_home" in DOCKERFILE


def test_build_context_keeps_secrets_and_run_state_out() -> None:
    ignore = (checks.INFRA / "docker" / "Dockerfile.dockerignore").read_text().split()
    for entry in (
        "infrastructure/.secrets",
        ".env",
        ".data",
        ".venv",
        "transformations/target",
        ".git",
    ):
        assert entry in ignore


def test_run_pods_get_dagster_postgres_from_the_lock() -> None:
    """The chart's instance stores runs in Postgres: the locked environment must carry the driver,
    since the image installs exactly the lock (`uv sync --frozen`) and nothing else."""
    lock = (checks.INFRA.parent / "uv.lock").read_text()
    assert 'name = "dagster-postgres"' in lock
    assert "uv pip install" not in DOCKERFILE
