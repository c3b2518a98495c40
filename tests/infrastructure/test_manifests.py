"""The project's own Kubernetes manifests (infrastructure/kubernetes/*.yaml), checked offline."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest
import yaml

from lakehouse.platform import secrets as platform_secrets
from tests.infrastructure import infra_checks as checks

OWN_FILES = [
    "namespace.yaml",
    "secrets.example.yaml",
    "network-policies.yaml",
    "postgres.yaml",
    "polaris-realm-bootstrap-job.yaml",
    "polaris-bootstrap-job.yaml",
    "dbt-docs.yaml",
    "s3-alias-seaweedfs.yaml",
]


def test_every_expected_manifest_exists(manifest_files: dict[str, list[dict[str, Any]]]) -> None:
    assert sorted(manifest_files) == sorted(OWN_FILES)


@pytest.mark.parametrize("name", OWN_FILES)
def test_manifest_validates_against_kubernetes_schema(name: str, manifest_files) -> None:
    """Strict schema validation (unknown fields fail) against Kubernetes 1.34, offline."""
    for doc in manifest_files[name]:
        try:
            kubernetes_validate.validate(doc, checks.KUBE_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(
                f"{name} {checks.where(doc)}: {'.'.join(map(str, exc.path))}: {exc.message}"
            )


def test_everything_lives_in_the_lakehouse_namespace(manifests) -> None:
    for doc in manifests:
        if doc["kind"] == "Namespace":
            assert doc["metadata"]["name"] == checks.NAMESPACE
        else:
            assert doc["metadata"].get("namespace") == checks.NAMESPACE, checks.where(doc)


def test_namespace_enforces_the_restricted_pod_security_standard(manifest_files) -> None:
    (namespace,) = manifest_files["namespace.yaml"]
    labels = namespace["metadata"]["labels"]
    for mode in ("enforce", "warn", "audit"):
        assert labels[f"pod-security.kubernetes.io/{mode}"] == "restricted"
        assert labels[f"pod-security.kubernetes.io/{mode}-version"] == "v1.34"


def test_every_pod_meets_the_restricted_standard(manifests) -> None:
    pods = [loc for doc in manifests for loc, _ in checks.pod_specs(doc)]
    assert len(pods) >= 4, pods  # postgres, two bootstrap Jobs, dbt docs
    assert checks.manifest_restricted_violations(manifests) == []


def test_no_plaintext_secret_in_any_env_var(manifests) -> None:
    assert checks.manifest_env_violations(manifests) == []


def test_every_secret_reference_names_a_secret_the_platform_creates(
    manifests, known_secrets
) -> None:
    refs = list(checks.secret_key_refs(manifests))
    assert refs
    for name, key in refs:
        assert name in known_secrets, f"secretKeyRef to unknown Secret {name}"
        assert key in known_secrets[name], f"secretKeyRef to unknown key {name}/{key}"
    for doc in manifests:
        for _, pod in checks.pod_specs(doc):
            for volume in pod.get("volumes") or []:
                if "secret" in volume:
                    name = volume["secret"]["secretName"]
                    assert name in known_secrets
                    for item in volume["secret"].get("items") or []:
                        assert item["key"] in known_secrets[name]


def test_images_are_pinned(manifests, charts) -> None:
    own = set(charts["images"].values())
    for doc in manifests:
        for loc, pod in checks.pod_specs(doc):
            for container in checks.containers(pod):
                image = container["image"]
                assert checks.image_pin_violations(image, loc) == []
                assert image in own, f"{loc}: image {image} is not listed in charts.yaml images"
                assert container.get("imagePullPolicy") == "IfNotPresent", loc


def test_secrets_example_documents_exactly_the_generated_shape(manifest_files) -> None:
    example = {doc["metadata"]["name"]: doc for doc in manifest_files["secrets.example.yaml"]}
    for spec in platform_secrets.SPECS:
        assert spec.name in example, f"secrets.example.yaml lacks {spec.name}"
        data = example[spec.name]["stringData"]
        expected = set(spec.generated) | set(spec.constants)
        if spec.derive is not None:
            expected |= set(spec.derive(dict.fromkeys(expected, "x")))
        assert set(data) == expected, spec.name
        for key in spec.generated:
            assert data[key] == "CHANGE_ME", f"{spec.name}/{key} must be a placeholder"
        for key, value in spec.constants.items():
            if key in data:
                assert data[key] in (value, "CHANGE_ME")
    extra = set(example) - {spec.name for spec in platform_secrets.SPECS}
    assert extra <= set(platform_secrets.PRINCIPAL_SECRETS)
    for doc in manifest_files["secrets.example.yaml"]:
        assert doc["kind"] == "Secret"


def _by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (doc,) = [d for d in docs if d["kind"] == kind]
    return doc


def test_polaris_bootstrap_job(manifest_files, charts) -> None:
    docs = manifest_files["polaris-bootstrap-job.yaml"]
    job = _by_kind(docs, "Job")
    sa = _by_kind(docs, "ServiceAccount")
    role = _by_kind(docs, "Role")
    binding = _by_kind(docs, "RoleBinding")
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "OnFailure"
    assert 1 <= job["spec"]["backoffLimit"] <= 10
    assert pod["serviceAccountName"] == sa["metadata"]["name"]
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "Role",
        "name": role["metadata"]["name"],
    }
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": "lakehouse"}
    ]
    verbs = {
        verb for rule in role["rules"] if rule["resources"] == ["secrets"] for verb in rule["verbs"]
    }
    assert verbs == {"create", "get", "patch"}
    for rule in role["rules"]:
        assert rule["apiGroups"] == [""] and rule["resources"] == ["secrets"], (
            "the Role grants only Secrets"
        )
        if "resourceNames" in rule:
            assert set(rule["resourceNames"]) == set(platform_secrets.PRINCIPAL_SECRETS)
    (container,) = pod["containers"]
    assert container["image"] == charts["images"]["code_location"]
    assert container["command"] == ["python", "-m", "lakehouse.platform.polaris", "bootstrap"]
    env = {var["name"]: var for var in container["env"]}
    assert env["POLARIS_MANAGEMENT_URI"]["value"] == "http://polaris:8181/api/management/v1"
    assert env["POLARIS_TOKEN_URI"]["value"] == "http://polaris:8181/api/catalog/v1/oauth/tokens"
    assert env["POLARIS_CATALOG"]["value"] == "lakehouse"
    assert env["POLARIS_STORAGE_BASE"]["value"] == "s3://lakehouse/warehouse"
    assert env["S3_ENDPOINT"]["value"] == "http://minio:9000"
    for name in ("POLARIS_BOOTSTRAP_CLIENT_ID", "POLARIS_BOOTSTRAP_CLIENT_SECRET"):
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "polaris-root"


def test_polaris_realm_bootstrap_reads_credentials_from_a_file_not_args(manifest_files) -> None:
    job = _by_kind(manifest_files["polaris-realm-bootstrap-job.yaml"], "Job")
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "OnFailure"
    (container,) = pod["containers"]
    assert container["image"].startswith("apache/polaris-admin-tool:")
    assert container["args"][0] == "bootstrap"
    assert not any("root" in arg or "," in arg for arg in container["args"]), "credentials in args"
    mounted = {v["name"] for v in container["volumeMounts"]}
    secret_volumes = [v for v in pod["volumes"] if "secret" in v]
    assert [v["secret"]["secretName"] for v in secret_volumes] == ["polaris-root"]
    assert secret_volumes[0]["name"] in mounted


def test_postgres_keeps_polaris_and_dagster_apart(manifest_files) -> None:
    docs = manifest_files["postgres.yaml"]
    script = _by_kind(docs, "ConfigMap")["data"]["10-databases.sh"]
    for role in ("polaris", "dagster"):
        assert f"CREATE ROLE {role} LOGIN PASSWORD :'{role}_password'" in script
        assert f"CREATE DATABASE {role} OWNER {role}" in script
        assert f"REVOKE ALL ON DATABASE {role} FROM PUBLIC" in script
    assert "PASSWORD '" not in script.replace(":'", ""), "literal password in the init script"
    sts = _by_kind(docs, "StatefulSet")
    (container,) = sts["spec"]["template"]["spec"]["containers"]
    assert container["image"].startswith("docker.io/library/postgres:")
    assert "bitnami" not in container["image"]
    claim = sts["spec"]["volumeClaimTemplates"][0]
    assert claim["spec"]["resources"]["requests"]["storage"]


def test_dbt_docs_deployment_and_service(manifest_files) -> None:
    docs = manifest_files["dbt-docs.yaml"]
    deployment = _by_kind(docs, "Deployment")
    service = _by_kind(docs, "Service")
    assert service["spec"]["ports"][0]["port"] == 8081
    assert (
        service["spec"]["selector"].items()
        <= deployment["spec"]["template"]["metadata"]["labels"].items()
    )
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert "/app/dbt-docs" in container["command"]


def test_secrets_example_is_never_applied_by_the_scripts() -> None:
    scripts = "".join(p.read_text() for p in (checks.INFRA / "scripts").glob("*.sh"))
    assert "secrets.example.yaml" not in scripts


def test_kind_cluster_config_is_valid() -> None:
    config = yaml.safe_load((checks.INFRA / "kind" / "cluster.yaml").read_text())
    assert config["kind"] == "Cluster" and config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert [node["role"] for node in config["nodes"]] == ["control-plane"]
