"""Maintenance policies in Polaris: declared by the bootstrap, read per table by the maintenance
job, and refused by the fake Polaris where Polaris 1.7.0 refuses them
(``tests/infrastructure/polaris_policies.py`` cites the sources)."""

from __future__ import annotations

import json
from datetime import timedelta

import dagster as dg
import pytest
from pyiceberg.exceptions import NoSuchTableError

from lakehouse.maintenance.catalog_policies import policy_source
from lakehouse.maintenance.policy import (
    DATA_COMPACTION,
    DEFAULT_POLICY,
    METADATA_COMPACTION,
    ORPHAN_FILE_REMOVAL,
    SNAPSHOT_EXPIRY,
    MaintenancePolicy,
    PolicyError,
    from_applicable,
    policy_content,
)
from lakehouse.maintenance.settings import maintainer_settings
from lakehouse.platform.polaris import BootstrapSettings, PolarisClient, PolarisError, bootstrap
from lakehouse.platform.polaris.settings import PolarisConfig
from lakehouse.settings import Settings, SettingsError
from orchestration.defs.maintenance import checks as health_checks
from orchestration.defs.maintenance.checks import build_table_health_checks
from orchestration.resources import LakehouseResource
from tests.infrastructure.polaris_doubles import (
    CATALOG_BASE,
    FakePolaris,
    Recorded,
    contract_problems,
    fake_polaris,  # noqa: F401  (fixture)
    polaris_contracts,  # noqa: F401  (fixture)
)
from tests.infrastructure.secret_store_double import MemorySecretStore

POLICIES = f"{CATALOG_BASE}/polaris/v1/lakehouse/namespaces"


def bootstrapped(fake: FakePolaris) -> MemorySecretStore:
    secrets = MemorySecretStore()
    settings = BootstrapSettings.from_env(fake.env())
    client = PolarisClient(settings.polaris, wait_timeout=5, echo=lambda _: None)
    bootstrap(client, settings.storage, secrets, echo=lambda _: None)
    fake.tables[("lakehouse", "gold")] = {"fct_orders"}
    fake.tables[("lakehouse", "raw")] = {"orders"}
    fake.tables[("lakehouse", "bronze")] = {"stg_orders"}
    return secrets


def workload_env(fake: FakePolaris, secrets: MemorySecretStore, principal: str) -> dict[str, str]:
    """The cluster variables of a workload logged in as ``principal``."""
    creds = secrets.secrets[f"polaris-{principal.replace('_', '-')}"]
    return {
        "ICEBERG_REST_URI": f"{fake.url}{CATALOG_BASE}",
        "ICEBERG_REST_CLIENT_ID": creds["client-id"],
        "ICEBERG_REST_CLIENT_SECRET": creds["client-secret"],
        "S3_ENDPOINT": "http://minio:9000",
        "AWS_ACCESS_KEY_ID": "unused-here",
        "AWS_SECRET_ACCESS_KEY": "unused-here",
    }


def workload_settings(fake: FakePolaris, secrets: MemorySecretStore, principal: str) -> Settings:
    """The code location's settings in the cluster, logged in as ``principal``."""
    return Settings.from_env({"LAKEHOUSE_PROFILE": "k8s", **workload_env(fake, secrets, principal)})


def root_client(fake: FakePolaris) -> PolarisClient:
    settings = BootstrapSettings.from_env(fake.env())
    return PolarisClient(settings.polaris, wait_timeout=5, echo=lambda _: None)


def test_each_table_gets_its_namespace_or_the_catalog_policy(fake_polaris: FakePolaris) -> None:  # noqa: F811
    secrets = bootstrapped(fake_polaris)
    maintainer = secrets.secrets["polaris-table-maintainer"]
    settings = maintainer_settings(
        workload_settings(fake_polaris, secrets, "ingestion_writer"),  # the code location's own
        {
            "MAINTENANCE_CLIENT_ID": maintainer["client-id"],
            "MAINTENANCE_CLIENT_SECRET": maintainer["client-secret"],
        },
    )
    assert settings.trino is not None and settings.trino.catalog == "iceberg_maintenance"
    policy_for = policy_source(settings)

    gold, raw = policy_for("gold.fct_orders"), policy_for("raw.orders")

    # gold's namespace policy overrides the catalog's snapshot expiry; the rest is inherited.
    assert gold.max_snapshot_age == timedelta(days=30) and gold.min_snapshots_to_keep == 30
    assert raw.max_snapshot_age == timedelta(days=7) and raw.min_snapshots_to_keep == 5
    for policy in (gold, raw):
        assert policy.target_file_size_bytes == 128 * 1024 * 1024
        assert policy.orphan_min_age == timedelta(days=3)
    assert raw == DEFAULT_POLICY  # the catalog declares the project's defaults
    reads = [r for r in fake_polaris.requests if r.path.endswith("/applicable-policies")]
    assert reads[-1].query == {"namespace": "raw", "target-name": "orders"}


def test_a_principal_without_read_properties_on_the_namespace_is_refused(
    fake_polaris: FakePolaris,  # noqa: F811
) -> None:
    secrets = bootstrapped(fake_polaris)
    policy_for = policy_source(workload_settings(fake_polaris, secrets, "ingestion_writer"))
    assert policy_for("raw.orders") == DEFAULT_POLICY  # raw_writer holds TABLE_FULL_METADATA
    with pytest.raises(PolarisError, match="403"):
        policy_for("bronze.stg_orders")  # nothing on bronze (dbt's namespace)


def test_the_maintainer_credentials_are_required_in_the_cluster(
    fake_polaris: FakePolaris,  # noqa: F811
) -> None:
    secrets = bootstrapped(fake_polaris)
    with pytest.raises(SettingsError, match="MAINTENANCE_CLIENT_SECRET not set"):
        maintainer_settings(
            workload_settings(fake_polaris, secrets, "ingestion_writer"),
            {"MAINTENANCE_CLIENT_ID": "someone"},
        )


def test_an_unknown_table_is_a_404(fake_polaris: FakePolaris) -> None:  # noqa: F811
    secrets = bootstrapped(fake_polaris)
    policy_for = policy_source(workload_settings(fake_polaris, secrets, "trino_reader"))
    with pytest.raises(PolarisError, match="404"):
        policy_for("gold.no_such_table")


def test_the_embedded_profile_uses_the_defaults(lakehouse_env: Settings) -> None:
    assert policy_source(lakehouse_env)("raw.orders") == DEFAULT_POLICY


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ({"enable": "true"}, "boolean"),  # Polaris' StrictBooleanDeserializer
        ({"version": "2025-02-03"}, "boolean"),  # enable is required
        ({"enable": True, "retention": 3}, "unrecognized"),  # FAIL_ON_UNKNOWN_PROPERTIES
        ({"enable": True, "version": "2024-01-01"}, "version"),
        ({"enable": True, "config": {"nested": {"a": 1}}}, "config"),
    ],
)
def test_fake_polaris_refuses_malformed_policy_content(
    fake_polaris: FakePolaris,  # noqa: F811
    content: dict,
    why: str,
) -> None:
    bootstrapped(fake_polaris)
    body = {"name": "bad", "type": "system.snapshot-expiry", "content": json.dumps(content)}
    with pytest.raises(PolarisError, match=rf"400.*{why}"):
        root_client(fake_polaris).create_policy("lakehouse", "raw", body)


def test_fake_polaris_refuses_what_polaris_refuses(fake_polaris: FakePolaris) -> None:  # noqa: F811
    secrets = bootstrapped(fake_polaris)
    root = root_client(fake_polaris)
    content = json.dumps({"enable": True})
    with pytest.raises(PolarisError, match=r"400.*Unknown policy type"):
        root.create_policy("lakehouse", "raw", {"name": "x", "type": "custom", "content": content})
    with pytest.raises(PolarisError, match=r"400.*integer"):  # a Java int in Polaris
        root.create_policy(
            "lakehouse",
            "raw",
            {
                "name": "x",
                "type": "system.orphan-file-removal",
                "content": json.dumps({"enable": True, "max_orphan_file_age_in_days": 2.5}),
            },
        )
    # A second inheritable policy of one type on one target: 409.
    assert root.create_policy(
        "lakehouse",
        "raw",
        {"name": "raw_expiry", "type": "system.snapshot-expiry", "content": content},
    )
    with pytest.raises(PolarisError, match="409"):
        root.attach_policy("lakehouse", "raw", "raw_expiry", {"type": "catalog"})
    # An update must name the current version.
    with pytest.raises(PolarisError, match="409"):
        root.update_policy(
            "lakehouse", "raw", "raw_expiry", {"content": content, "current-policy-version": 7}
        )
    # Creating a policy needs POLICY_CREATE: a reader has none.
    creds = secrets.secrets["polaris-trino-reader"]
    reader = PolarisClient(
        PolarisConfig(
            management_uri="unused",
            catalog_uri=f"{fake_polaris.url}{CATALOG_BASE}",
            token_uri=f"{fake_polaris.url}{CATALOG_BASE}/v1/oauth/tokens",
            client_id=creds["client-id"],
            client_secret=creds["client-secret"],
        ),
        wait_timeout=5,
        echo=lambda _: None,
    )
    body = {"name": "mine", "type": "system.snapshot-expiry", "content": content}
    with pytest.raises(PolarisError, match="403"):
        reader.create_policy("lakehouse", "gold", body)


def test_bootstrap_restores_a_changed_policy_once(fake_polaris: FakePolaris) -> None:  # noqa: F811
    secrets = bootstrapped(fake_polaris)
    policy = fake_polaris.policies[("lakehouse", "gold", "gold_snapshot_expiry")]
    policy["content"] = json.dumps({"enable": False})
    settings = BootstrapSettings.from_env(fake_polaris.env())

    def run() -> list[str]:
        client = PolarisClient(settings.polaris, wait_timeout=5, echo=lambda _: None)
        return bootstrap(client, settings.storage, secrets, echo=lambda _: None).changes

    assert run() == ["policy gold.gold_snapshot_expiry (system.snapshot-expiry) updated"]
    assert json.loads(policy["content"])["config"]["max_snapshot_age_days"] == 30
    assert policy["version"] == 1
    assert run() == []


def test_policy_contract_catches_an_undeclared_property(polaris_contracts) -> None:  # noqa: F811
    body = {"name": "p", "type": "system.snapshot-expiry", "content": "{}", "enabled": True}
    bad = Recorded("POST", f"{POLICIES}/raw/policies", {}, body, "application/json", {})
    assert contract_problems(polaris_contracts, [bad]) == [
        f"POST {POLICIES}/raw/policies: undeclared property 'enabled'"
    ]


def test_malformed_policy_content_names_the_policy() -> None:
    applicable = [{"policy-type": "system.snapshot-expiry", "name": "p", "content": "{}"}]
    with pytest.raises(PolicyError, match=r"'p'.*malformed"):
        from_applicable(applicable)


def test_tag_age_comes_from_max_ref_age_days() -> None:
    content = {"enable": True, "config": {"max_ref_age_days": 90, "max_snapshot_age_days": 0.5}}
    applicable = [
        {"policy-type": "system.snapshot-expiry", "name": "p", "content": json.dumps(content)}
    ]
    policy = from_applicable(applicable)
    assert policy.max_tag_age == timedelta(days=90)
    assert policy.max_snapshot_age == timedelta(hours=12)
    assert policy.compact and policy.target_file_size_bytes == DEFAULT_POLICY.target_file_size_bytes


def test_schema_fields_no_engine_applies_are_ignored_with_a_warning(caplog) -> None:
    """The examples of Polaris 1.7.0's schemas (polaris-core/src/main/resources/schemas/policies/
    system/<type>/2025-02-03.json): fields with no Trino or embedded equivalent are named."""
    contents = {
        ORPHAN_FILE_REMOVAL: {
            "enable": True,
            "max_orphan_file_age_in_days": 30,
            "locations": ["s3://my-bucket/my-table-location"],
            "config": {"prefix_mismatch_mode": "ignore"},
        },
        DATA_COMPACTION: {"enable": True, "config": {"compaction_strategy": "bin-pack"}},
        METADATA_COMPACTION: {"enable": False, "config": {"spec_id": 1}},
    }
    applicable = [
        {"policy-type": kind, "name": f"p-{kind}", "content": json.dumps(content)}
        for kind, content in contents.items()
    ]
    with caplog.at_level("WARNING", logger="lakehouse.maintenance.policy"):
        policy = from_applicable(applicable)
    assert policy.orphan_min_age == timedelta(days=30) and not policy.compact_manifests
    ignored = sorted(r.args[2] for r in caplog.records)
    assert ignored == ["compaction_strategy", "locations", "prefix_mismatch_mode", "spec_id"]


def test_every_declared_setting_reads_back() -> None:
    """What the bootstrap declares (``policy_content``) is what maintenance reads, every field."""
    declared = MaintenancePolicy(
        expire_snapshots=False,
        max_snapshot_age=timedelta(days=2),
        min_snapshots_to_keep=9,
        max_tag_age=timedelta(days=40),
        min_build_tags_to_keep=3,
        compact=False,
        target_file_size_bytes=64 * 1024 * 1024,
        min_input_files=3,
        compact_manifests=False,
        remove_orphans=False,
        orphan_min_age=timedelta(days=4),
    )
    applicable = [
        {"policy-type": kind, "name": kind, "content": json.dumps(policy_content(kind, declared))}
        for kind in (SNAPSHOT_EXPIRY, DATA_COMPACTION, ORPHAN_FILE_REMOVAL, METADATA_COMPACTION)
    ]
    assert from_applicable(applicable) == declared
    assert declared != DEFAULT_POLICY


def test_the_health_check_reads_with_the_code_locations_credentials(
    fake_polaris: FakePolaris,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path,
) -> None:
    """The check runs in every build: it reads as the code location (``ingestion_writer``), and
    needs no maintainer credentials, which write to every namespace (review finding, issue 14)."""
    secrets = bootstrapped(fake_polaris)
    env = workload_env(fake_polaris, secrets, "ingestion_writer")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("MAINTENANCE_CLIENT_ID", "MAINTENANCE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    key = dg.AssetKey(["raw", "orders"])
    # The fake serves Polaris' management and policy APIs, not table loads: the catalog the
    # check opens is recorded (with the settings it was given) and has no such table.
    opened: list[Settings] = []

    class NoTables:
        def load_table(self, identifier: str) -> None:
            raise NoSuchTableError(identifier)

    def record(settings: Settings) -> NoTables:
        opened.append(settings)
        return NoTables()

    monkeypatch.setattr(health_checks, "get_catalog", record)

    @dg.asset(key=key)
    def orders() -> None:
        return None

    fake_polaris.requests.clear()
    result = dg.materialize(
        [orders, build_table_health_checks([key])],
        resources={"lakehouse": LakehouseResource(profile="k8s", data_dir=str(tmp_path))},
        raise_on_error=False,
    )
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed, evaluation.description
    callers = {
        fake_polaris.tokens.get(r.headers.get("authorization", "").removeprefix("Bearer "))
        for r in fake_polaris.requests
        if not r.path.endswith("/oauth/tokens")
    }
    assert callers == {"ingestion_writer"}
    (settings,) = opened
    assert settings.rest is not None
    assert settings.rest.client_id == env["ICEBERG_REST_CLIENT_ID"]
