"""Chart pins and the helm commands built from them (lakehouse.platform.charts)."""

from __future__ import annotations

from typing import Any

import pytest

from lakehouse.platform import charts as platform_charts
from tests.infrastructure import infra_checks as checks


def test_install_command_pins_version_values_namespace_and_waits() -> None:
    release = platform_charts.resolve("trino", checks.CHARTS_FILE)
    cmd = platform_charts.install_command(release, "lakehouse", "kind-lakehouse")
    assert cmd[:5] == ["helm", "upgrade", "--install", "trino", "trino/trino"]
    assert cmd[cmd.index("--version") + 1] == "1.42.2"
    assert cmd[cmd.index("--namespace") + 1] == "lakehouse"
    assert cmd[cmd.index("--kube-context") + 1] == "kind-lakehouse"
    assert cmd[cmd.index("--values") + 1] == str(checks.VALUES_DIR / "trino.yaml")
    assert "--wait" in cmd


def test_repo_add_command() -> None:
    release = platform_charts.resolve("polaris", checks.CHARTS_FILE)
    assert platform_charts.repo_add_command(release) == [
        "helm", "repo", "add", "polaris", "https://downloads.apache.org/polaris/helm-chart", "--force-update",
    ]  # fmt: skip


def test_s3_resolves_to_the_selected_backend(charts: dict[str, Any]) -> None:
    assert charts["s3_backend"] in {"minio", "seaweedfs"}
    assert platform_charts.resolve("s3", checks.CHARTS_FILE).name == charts["s3_backend"]
    roles = {r.name: r.role for r in platform_charts.releases(checks.CHARTS_FILE).values()}
    assert roles[charts["s3_backend"]].startswith("s3")


def test_unknown_release_is_a_clear_error() -> None:
    with pytest.raises(SystemExit, match="no release 'nope'"):
        platform_charts.resolve("nope", checks.CHARTS_FILE)


def test_pinned_versions(charts: dict[str, Any]) -> None:
    versions = {r["name"]: r["version"] for r in charts["releases"]}
    assert versions == {
        "minio": "5.4.0",
        "seaweedfs": "4.44.0",
        "polaris": "1.7.0",
        "trino": "1.42.2",
        "dagster": "1.13.27",
        "superset": "0.15.0",
    }


def test_dagster_chart_matches_the_locked_dagster(charts: dict[str, Any]) -> None:
    lock = (checks.INFRA.parent / "uv.lock").read_text()
    version = next(r["version"] for r in charts["releases"] if r["name"] == "dagster")
    assert f'name = "dagster"\nversion = "{version}"' in lock


def test_kind_node_image_is_pinned_by_digest_and_matches_the_namespace_labels(
    charts, manifest_files
) -> None:
    image = charts["kind"]["node_image"]
    assert image.startswith("kindest/node:v1.34.") and "@sha256:" in image
    (namespace,) = manifest_files["namespace.yaml"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce-version"] == "v1.34"
    assert checks.KUBE_VERSION.startswith("1.34")


def test_install_order_covers_every_step(charts: dict[str, Any]) -> None:
    order = charts["install_order"]
    releases = [step["release"] for step in order if "release" in step]
    assert releases == ["s3", "polaris", "trino", "dagster", "superset"]
    files = [
        step.get("manifest") or step.get("job")
        for step in order
        if "manifest" in step or "job" in step
    ]
    for name in files:
        assert (checks.INFRA / "helm" / ".." / name).resolve().is_file(), name
    # The realm bootstrap precedes Polaris; the catalog bootstrap follows it and precedes Trino.
    flat = [next(iter(step.values())) for step in order]
    assert flat.index("kubernetes/polaris-realm-bootstrap-job.yaml") < flat.index("polaris")
    assert (
        flat.index("polaris")
        < flat.index("kubernetes/polaris-bootstrap-job.yaml")
        < flat.index("trino")
    )
    # Superset's init Job imports the bundle ConfigMap, which must exist before the release.
    assert flat.index("trino") < flat.index("superset-bundle") < flat.index("superset")


def test_up_script_follows_the_install_order() -> None:
    up = (checks.INFRA / "scripts" / "up.sh").read_text()
    positions = [
        up.index(marker)
        for marker in (
            "lakehouse.platform.preflight",
            "kind create cluster",
            'build_and_load "$INFRA/docker/Dockerfile"',
            'build_and_load "$INFRA/docker/superset.Dockerfile"',
            "namespace.yaml",
            "lakehouse.platform.secrets generate",
            "network-policies.yaml",
            "postgres.yaml",
            "charts install s3",
            "polaris-realm-bootstrap-job.yaml",
            "charts install polaris",
            "polaris-bootstrap-job.yaml",
            "charts install trino",
            "charts install dagster",
            "dbt-docs.yaml",
            "analytics.cluster configmap",
            "charts install superset",
        )
    ]
    assert positions == sorted(positions)


def test_platform_make_targets_call_scripts() -> None:
    mk = (checks.INFRA / "platform.mk").read_text()
    for target, call in {
        "up": "SCRIPTS)/up.sh",
        "down": "SCRIPTS)/down.sh",
        "port-forward": "SCRIPTS)/port-forward.sh",
        "status": "SCRIPTS)/status.sh",
        "preflight": "lakehouse.platform.preflight",
    }.items():
        assert f"\n{target}:" in mk and call in mk, target
    for script in ("up.sh", "down.sh", "port-forward.sh", "status.sh"):
        text = (checks.INFRA / "scripts" / script).read_text()
        assert text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in text, script
