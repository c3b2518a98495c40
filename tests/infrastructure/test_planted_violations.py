"""Every checker can fail: each test plants one violation in a copy of a real file and expects it
to be reported (the tests on the real files expect no report, so a checker that always returns
nothing would pass them; these would not)."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from lakehouse.platform import secrets as platform_secrets
from tests.infrastructure import infra_checks as checks


def _first_pod(docs: list[dict[str, Any]]) -> dict[str, Any]:
    for doc in docs:
        for _, pod in checks.pod_specs(doc):
            return pod
    raise AssertionError("no pod")


@pytest.mark.parametrize(
    "plant",
    [
        lambda pod: pod["securityContext"].pop("runAsNonRoot"),
        lambda pod: pod["securityContext"].pop("seccompProfile"),
        lambda pod: pod["containers"][0]["securityContext"].update(allowPrivilegeEscalation=True),
        lambda pod: pod["containers"][0]["securityContext"]["capabilities"].update(
            drop=["NET_RAW"]
        ),
        lambda pod: pod["containers"][0]["securityContext"].update(privileged=True),
        lambda pod: pod.update(hostNetwork=True),
        lambda pod: pod["volumes"].append({"name": "host", "hostPath": {"path": "/"}}),
        lambda pod: pod["containers"][0]["ports"].append({"containerPort": 1, "hostPort": 1}),
        lambda pod: pod["securityContext"].update(runAsUser=0),
    ],
    ids=[
        "no-runAsNonRoot",
        "no-seccomp",
        "privilege-escalation",
        "caps-not-dropped",
        "privileged",
        "hostNetwork",
        "hostPath",
        "hostPort",
        "root-uid",
    ],
)
def test_restricted_checker_catches(plant, manifest_files) -> None:
    docs = copy.deepcopy(manifest_files["postgres.yaml"])
    assert checks.manifest_restricted_violations(docs) == []
    plant(_first_pod(docs))
    assert checks.manifest_restricted_violations(docs)


def test_env_checker_catches_a_literal_password(manifest_files) -> None:
    docs = copy.deepcopy(manifest_files["postgres.yaml"])
    container = _first_pod(docs)["containers"][0]
    container["env"].append({"name": "POSTGRES_PASSWORD", "value": "hunter2"})
    assert checks.manifest_env_violations(docs)


def test_env_checker_catches_a_secret_from_a_configmap() -> None:
    env = [{"name": "API_TOKEN", "valueFrom": {"configMapKeyRef": {"name": "cm", "key": "token"}}}]
    assert checks.env_violations(env, "x")


def test_env_checker_catches_credentials_hidden_in_a_url() -> None:
    env = [{"name": "POLARIS_TOKEN_URI", "value": "http://root:s3cr3t@polaris:8181/token"}]
    assert checks.env_violations(env, "x")


def test_values_env_checker_catches_a_literal_secret(values) -> None:
    dagster = copy.deepcopy(values["dagster"])
    env = dagster["dagster-user-deployments"]["deployments"][0]["env"]
    env.append({"name": "AWS_SECRET_ACCESS_KEY", "value": "minio123"})
    assert checks.values_env_violations(dagster, "dagster")


def test_literal_credential_checker_catches_a_password_in_values(values, known_secrets) -> None:
    minio = copy.deepcopy(values["minio"])
    minio["users"][0]["secretKey"] = "console123"
    assert checks.literal_credential_violations(minio, "minio", known_secrets)
    minio = copy.deepcopy(values["minio"])
    minio["rootPassword"] = "rootpass123"
    assert checks.literal_credential_violations(minio, "minio", known_secrets)


def test_trino_checker_catches_a_literal_key(values) -> None:
    catalogs = copy.deepcopy(values["trino"]["catalogs"])
    catalogs["iceberg"] = catalogs["iceberg"].replace("${ENV:AWS_SECRET_ACCESS_KEY}", "minio123")
    assert checks.trino_catalog_violations(catalogs, "trino")
    catalogs = copy.deepcopy(values["trino"]["catalogs"])
    catalogs["iceberg"] += "iceberg.rest-catalog.oauth2.credential=root:s3cr3t\n"
    assert checks.trino_catalog_violations(catalogs, "trino")


def test_comment_checker_catches_an_unexplained_key(values_text) -> None:
    text = values_text["polaris"] + "\nlogging:\n  level: DEBUG\n"
    assert checks.uncommented_keys(text) == ["line " + str(text.count("\n")) + ": level"]


def test_network_policy_checks_catch_a_missing_deny_and_an_open_door(
    network_policies, component_labels
) -> None:
    without_deny = [p for p in network_policies if p["metadata"]["name"] != "default-deny-all"]
    assert checks.default_deny_violations(without_deny)
    opened = copy.deepcopy(network_policies)
    for policy in opened:
        if policy["metadata"]["name"] == "postgres":
            policy["spec"]["ingress"][0]["from"].append({"podSelector": {}})
        if policy["metadata"]["name"] == "trino":
            policy["spec"]["egress"].append({"to": [{"podSelector": {}}]})
    trino = checks.Endpoint(labels=component_labels["trino"])
    postgres = checks.Endpoint(labels=component_labels["postgres"])
    assert not checks.flow_allowed(network_policies, trino, postgres, 5432)
    assert checks.flow_allowed(opened, trino, postgres, 5432)


def test_dockerfile_checker_catches_root_and_missing_manifest() -> None:
    text = checks.DOCKERFILE.read_text()
    assert checks.dockerfile_violations(text.replace("USER 10001:10001", "USER root"))
    assert checks.dockerfile_violations(text.replace("USER 10001:10001", ""))
    assert checks.dockerfile_violations(text.replace("--target-path target/trino \\", "\\"))
    assert checks.dockerfile_violations(text.replace("uv sync --frozen --no-dev", "uv sync"))


def test_dockerfile_checker_catches_a_moving_base_tag_and_a_kept_uv_cache() -> None:
    text = checks.DOCKERFILE.read_text()
    moved = re.sub(r"(FROM python:3\.11-slim)@sha256:[0-9a-f]{64}", r"\1", text)
    assert moved != text
    assert any("moving tag" in v for v in checks.dockerfile_violations(moved))
    cached = text.replace("--mount=type=cache,target=/root/.cache/uv ", "")
    assert cached != text
    assert any("uv's cache" in v for v in checks.dockerfile_violations(cached))


def test_chart_pin_checker_catches_a_range_and_an_unpinned_image(charts, tmp_path: Path) -> None:
    planted = copy.deepcopy(charts)
    planted["releases"][0]["version"] = "^5.4"
    assert checks.chart_pin_violations(planted, checks.VALUES_DIR)
    planted = copy.deepcopy(charts)
    planted["releases"][0]["images"].append("quay.io/minio/minio:latest")
    assert checks.chart_pin_violations(planted, checks.VALUES_DIR)
    # A values file without a release.
    values_dir = tmp_path / "values"
    values_dir.mkdir()
    for path in checks.VALUES_DIR.glob("*.yaml"):
        (values_dir / path.name).write_text(path.read_text())
    (values_dir / "rogue.yaml").write_text("a: 1\n")
    assert any("rogue.yaml" in v for v in checks.chart_pin_violations(charts, values_dir))


def test_kubernetes_schema_validation_is_strict(manifest_files) -> None:
    job = copy.deepcopy(manifest_files["polaris-bootstrap-job.yaml"][-1])
    job["spec"]["backoffLimit"] = "six"  # wrong type
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, checks.KUBE_VERSION, strict=True)
    job = copy.deepcopy(manifest_files["polaris-bootstrap-job.yaml"][-1])
    job["spec"]["template"]["spec"]["containers"][0]["imagePulPolicy"] = "Always"  # typo
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(job, checks.KUBE_VERSION, strict=True)


def test_secret_shape_check_catches_drift(manifest_files) -> None:
    """The example file must change when the generator does (and the reverse)."""
    example = {d["metadata"]["name"]: d for d in manifest_files["secrets.example.yaml"]}
    spec = platform_secrets.SPECS[0]
    expected = set(spec.generated) | set(spec.constants)
    drifted = set(example[spec.name]["stringData"]) | {"newKey"}
    assert drifted != expected


def test_yaml_loader_rejects_a_broken_values_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("image:\n  tag: [unclosed\n")
    with pytest.raises(yaml.YAMLError):
        checks.load_docs(bad)
