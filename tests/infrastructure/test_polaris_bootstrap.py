"""The Polaris bootstrap against a fake Polaris served over real HTTP on 127.0.0.1.

What a real Polaris would add (its authorizer, persistence, S3 checks) is covered by the container
tier (tests/containers), which needs Docker.
"""

from __future__ import annotations

import copy
import json
import socket
from typing import Any

import pytest
import requests

from lakehouse.platform import polaris
from lakehouse.platform.polaris import (
    BootstrapSettings,
    PolarisClient,
    PolarisError,
    PolarisUnavailableError,
    bootstrap,
    default_plan,
)
from lakehouse.platform.secret_store import KubernetesSecretStore
from lakehouse.settings import SettingsError
from tests.infrastructure.polaris_doubles import (
    CATALOG_BASE,
    MANAGEMENT_BASE,
    FakePolaris,
    Recorded,
    bootstrap_env,
    contract_problems,
    fake_polaris,  # noqa: F401  (fixture)
    polaris_contracts,  # noqa: F401  (fixture)
)
from tests.infrastructure.secret_store_double import MemorySecretStore

M, C = MANAGEMENT_BASE, CATALOG_BASE
PRINCIPALS = ("ingestion_writer", "dbt_transformer", "trino_reader", "table_maintainer")
LAYERS = ("raw", "bronze", "silver", "gold")
# dbt-trino builds and tests silver/gold in staging; the code location publishes them and records
# each build in publish.builds (write-audit-publish, lakehouse/publish.py).
# The ml assets write their churn scores in ml (read by Trino and dashboards).
DATA_NAMESPACES = (*LAYERS, "silver_staging", "gold_staging", "publish", "ml", "health")
NAMESPACES = (*DATA_NAMESPACES, "maintenance")  # maintenance: where the catalog-wide policies live
# (policy namespace, name, type, attached to (namespace path; () = the catalog), content)
POLICIES = (
    (
        "maintenance",
        "snapshot_expiry",
        "system.snapshot-expiry",
        (),
        {
            "version": "2025-02-03",
            "enable": True,
            "config": {
                "max_snapshot_age_days": 7,
                "min_snapshot_to_keep": 5,
                # build tags age out (lakehouse/maintenance/expire.py)
                "max_ref_age_days": 14,
                "min_build_tags_to_keep": 7,
            },
        },
    ),
    (
        "maintenance",
        "data_compaction",
        "system.data-compaction",
        (),
        {
            "version": "2025-02-03",
            "enable": True,
            "config": {"target_file_size_bytes": 134217728, "min_input_files": 5},
        },
    ),
    (
        "maintenance",
        "orphan_file_removal",
        "system.orphan-file-removal",
        (),
        {"version": "2025-02-03", "enable": True, "max_orphan_file_age_in_days": 3},
    ),
    (
        "gold",
        "gold_snapshot_expiry",
        "system.snapshot-expiry",
        ("gold",),
        {
            "version": "2025-02-03",
            "enable": True,
            "config": {
                "max_snapshot_age_days": 30,
                "min_snapshot_to_keep": 30,
                "max_ref_age_days": 14,
                "min_build_tags_to_keep": 7,
            },
        },
    ),
)
# Written out here, not imported, so a change to the grant model shows up as a test change.
WRITER = (
    "NAMESPACE_FULL_METADATA",
    "TABLE_FULL_METADATA",
    "VIEW_FULL_METADATA",
    "TABLE_READ_DATA",
    "TABLE_WRITE_DATA",
)
READER = (
    "NAMESPACE_LIST",
    "NAMESPACE_READ_PROPERTIES",
    "TABLE_LIST",
    "TABLE_READ_PROPERTIES",
    "TABLE_READ_DATA",
    "VIEW_LIST",
    "VIEW_READ_PROPERTIES",
)
MAINTAINER = (
    "NAMESPACE_READ_PROPERTIES",
    "TABLE_LIST",
    "TABLE_READ_PROPERTIES",
    "TABLE_WRITE_PROPERTIES",
    "TABLE_READ_DATA",
    "TABLE_WRITE_DATA",
)
CATALOG_ROLES = {
    "catalog_browser": [{"type": "catalog", "privilege": "NAMESPACE_LIST"}],
    "namespace_creator": [{"type": "catalog", "privilege": "NAMESPACE_CREATE"}],
    **{
        f"{ns}_writer": [{"type": "namespace", "namespace": [ns], "privilege": p} for p in WRITER]
        for ns in DATA_NAMESPACES
    },
    **{
        f"{ns}_reader": [{"type": "namespace", "namespace": [ns], "privilege": p} for p in READER]
        for ns in DATA_NAMESPACES
    },
    **{
        f"{ns}_maintainer": [
            {"type": "namespace", "namespace": [ns], "privilege": p} for p in MAINTAINER
        ]
        for ns in DATA_NAMESPACES
    },
}
ROLES_OF = {
    "ingestion_writer": [
        "catalog_browser",
        "raw_writer",
        "silver_staging_reader",
        "gold_staging_reader",
        "silver_writer",
        "gold_writer",
        "publish_writer",
        "ml_writer",
        "health_writer",
    ],
    "dbt_transformer": [
        "catalog_browser",
        "namespace_creator",
        "raw_reader",
        "bronze_writer",
        "silver_staging_writer",
        "gold_staging_writer",
    ],
    "trino_reader": [
        "catalog_browser",
        "raw_reader",
        "bronze_reader",
        "silver_reader",
        "gold_reader",
        "publish_reader",
        "ml_reader",
        "health_reader",
    ],
    "table_maintainer": [
        "catalog_browser",
        "raw_maintainer",
        "bronze_maintainer",
        "silver_maintainer",
        "gold_maintainer",
        "silver_staging_maintainer",
        "gold_staging_maintainer",
        "publish_maintainer",
        "ml_maintainer",
        "health_maintainer",
    ],
}
PROPS = "<properties>"


def run(fake: FakePolaris, secrets: MemorySecretStore, **env: str) -> polaris.BootstrapReport:
    settings = BootstrapSettings.from_env(fake.env(**env))
    client = PolarisClient(settings.polaris, wait_timeout=5, echo=lambda _: None)
    return bootstrap(
        client, settings.storage, secrets, default_plan(settings.catalog), echo=lambda _: None
    )


def sent(fake: FakePolaris) -> list[tuple[str, str, Any]]:
    """(method, path?query, body) of every request, with descriptive properties masked."""

    def mask(body: Any) -> Any:
        body = copy.deepcopy(body)
        if isinstance(body, dict):
            for key in ("principal", "principalRole", "catalogRole"):
                entity = body.get(key)
                if isinstance(entity, dict) and "properties" in entity:
                    assert entity["properties"]["managed-by"] == "lakehouse-polaris-bootstrap"
                    assert entity["properties"]["purpose"]
                    entity["properties"] = PROPS
            if "type" in body and "content" in body:  # CreatePolicyRequest
                assert body["description"]
                body["description"] = PROPS
                body["content"] = json.loads(body["content"])
        return body

    return [(r.method, r.target, mask(r.body)) for r in fake.requests]


def expected_first_run() -> list[tuple[str, str, Any]]:
    token = {
        "grant_type": "client_credentials",
        "client_id": "root",
        "client_secret": "s3cr3t",
        "scope": "PRINCIPAL_ROLE:ALL",
    }
    catalog = {
        "catalog": {
            "type": "INTERNAL",
            "name": "lakehouse",
            "properties": {"default-base-location": "s3://lakehouse/warehouse"},
            "storageConfigInfo": {
                "storageType": "S3",
                "allowedLocations": ["s3://lakehouse/warehouse"],
                "endpoint": "http://minio:9000",
                "endpointInternal": "http://minio:9000",
                "pathStyleAccess": True,
                "region": "us-east-1",
                "stsUnavailable": True,
            },
        }
    }
    plan: list[tuple[str, str, Any]] = [
        ("POST", f"{C}/v1/oauth/tokens", token),
        ("GET", f"{M}/catalogs/lakehouse", None),
        ("POST", f"{M}/catalogs", catalog),
        ("GET", f"{C}/v1/config?warehouse=lakehouse", None),
        ("GET", f"{C}/v1/lakehouse/namespaces", None),
        *[("POST", f"{C}/v1/lakehouse/namespaces", {"namespace": [ns]}) for ns in NAMESPACES],
        ("GET", f"{M}/principal-roles", None),
        *[
            ("POST", f"{M}/principal-roles", {"principalRole": {"name": p, "properties": PROPS}})
            for p in PRINCIPALS
        ],
        ("GET", f"{M}/principals", None),
        *[
            (
                "POST",
                f"{M}/principals",
                {
                    "principal": {"name": p, "properties": PROPS},
                    "credentialRotationRequired": False,
                },
            )
            for p in PRINCIPALS
        ],
    ]
    for p in PRINCIPALS:
        plan += [
            ("GET", f"{M}/principals/{p}/principal-roles", None),
            ("PUT", f"{M}/principals/{p}/principal-roles", {"principalRole": {"name": p}}),
        ]
    plan.append(("GET", f"{M}/catalogs/lakehouse/catalog-roles", None))
    plan += [
        (
            "POST",
            f"{M}/catalogs/lakehouse/catalog-roles",
            {"catalogRole": {"name": r, "properties": PROPS}},
        )
        for r in CATALOG_ROLES
    ]
    for role, grants in CATALOG_ROLES.items():
        url = f"{M}/catalogs/lakehouse/catalog-roles/{role}/grants"
        plan.append(("GET", url, None))
        plan += [("PUT", url, {"grant": g}) for g in grants]
    for p in PRINCIPALS:
        url = f"{M}/principal-roles/{p}/catalog-roles/lakehouse"
        plan.append(("GET", url, None))
        plan += [("PUT", url, {"catalogRole": {"name": r}}) for r in ROLES_OF[p]]
    plan.append(("GET", f"{C}/v1/config?warehouse=lakehouse", None))
    for ns, name, kind, target, content in POLICIES:
        policies = f"{C}/polaris/v1/lakehouse/namespaces/{ns}/policies"
        applicable = f"{C}/polaris/v1/lakehouse/applicable-policies"
        attach = {"type": "namespace", "path": list(target)} if target else {"type": "catalog"}
        plan += [
            ("GET", f"{policies}/{name}", None),
            (
                "POST",
                policies,
                {"name": name, "type": kind, "description": PROPS, "content": content},
            ),
            ("GET", applicable + (f"?namespace={target[0]}" if target else ""), None),
            ("PUT", f"{policies}/{name}/mappings", {"target": attach}),
        ]
    return plan


# --- (a) the first run -------------------------------------------------------------------------
def test_first_run_sends_exactly_the_planned_requests(fake_polaris: FakePolaris) -> None:  # noqa: F811
    secrets = MemorySecretStore()
    report = run(fake_polaris, secrets)

    assert sent(fake_polaris) == expected_first_run()
    assert all(r.headers["polaris-realm"] == "POLARIS" for r in fake_polaris.requests)
    assert all(
        r.headers["authorization"].startswith("Bearer ")
        for r in fake_polaris.requests
        if not r.path.endswith("/oauth/tokens")
    )
    assert "authorization" not in fake_polaris.requests[0].headers  # the token request
    # Every principal's credentials landed in its own Secret and work against Polaris.
    assert sorted(secrets.secrets) == [
        "polaris-dbt-transformer",
        "polaris-ingestion-writer",
        "polaris-table-maintainer",
        "polaris-trino-reader",
    ]
    for name in PRINCIPALS:
        data = secrets.secrets[f"polaris-{name.replace('_', '-')}"]
        assert set(data) == {"client-id", "client-secret"}
        assert fake_polaris.principals[name]["clientId"] == data["client-id"]
        assert fake_polaris.principals[name]["secret"] == data["client-secret"]
    assert (
        fake_polaris.catalog_role_assignments[("dbt_transformer", "lakehouse")]
        == ROLES_OF["dbt_transformer"]
    )
    assert report.changed and len(report.changes) == len(
        [m for m, _, _ in expected_first_run() if m != "GET"]
    ) - 1 + len(PRINCIPALS)  # every write but the token, plus one Secret per principal


def test_grant_model_is_least_privilege() -> None:
    plan = default_plan()
    roles = {r.name: r for r in plan.catalog_roles}
    writes = {
        "TABLE_WRITE_DATA",
        "TABLE_FULL_METADATA",
        "NAMESPACE_FULL_METADATA",
        "NAMESPACE_CREATE",
    }

    def privileges(principal: str) -> set[tuple[tuple[str, ...], str]]:
        spec = next(p for p in plan.principals if p.name == principal)
        return {(g.namespace, g.privilege) for r in spec.catalog_roles for g in roles[r].grants}

    assert not {p for _, p in privileges("trino_reader")} & writes
    # the code location lands raw, publishes audited builds (and their registry) and writes the
    # ml assets' churn scores and the data-health figures
    assert {ns for ns, p in privileges("ingestion_writer") if p in writes} == {
        ("raw",),
        ("silver",),
        ("gold",),
        ("publish",),
        ("ml",),
        ("health",),
    }
    assert {ns for ns, p in privileges("ingestion_writer") if p == "TABLE_READ_DATA"} >= {
        ("silver_staging",),
        ("gold_staging",),
    }
    # dbt builds and tests in staging: it cannot write what consumers read
    assert {ns for ns, p in privileges("dbt_transformer") if p in writes} == {
        ("bronze",),
        ("silver_staging",),
        ("gold_staging",),
        (),  # NAMESPACE_CREATE on the catalog
    }
    assert ((("raw",), "TABLE_READ_DATA")) in privileges("dbt_transformer")
    # readers never see unaudited data
    assert {ns for ns, p in privileges("trino_reader") if p == "TABLE_READ_DATA"} == {
        *((layer,) for layer in LAYERS),
        ("publish",),
        ("ml",),
        ("health",),
    }


# --- (b) idempotence ---------------------------------------------------------------------------
def test_second_run_changes_nothing(fake_polaris: FakePolaris) -> None:  # noqa: F811
    secrets = MemorySecretStore()
    run(fake_polaris, secrets)
    state, stored = fake_polaris.snapshot(), copy.deepcopy(secrets.secrets)
    fake_polaris.clear_requests()

    report = run(fake_polaris, secrets)

    assert report.changes == []
    assert fake_polaris.snapshot() == state
    assert secrets.secrets == stored
    writes = [(r.method, r.path) for r in fake_polaris.requests if r.method != "GET"]
    assert writes == [("POST", f"{C}/v1/oauth/tokens")]  # a token is not a change
    # It still checked everything: one read per resource list, per assignment list, per role.
    # ... and per policy: the policy, and what is attached to its target (after one /config).
    policies = 1 + 2 * len(POLICIES)
    assert (
        len(fake_polaris.requests)
        == 1 + 1 + 2 + 1 + 1 + len(PRINCIPALS) + 1 + len(CATALOG_ROLES) + len(PRINCIPALS) + policies
    )


def test_existing_catalog_with_drifted_storage_is_updated_once(fake_polaris: FakePolaris) -> None:  # noqa: F811
    secrets = MemorySecretStore()
    run(fake_polaris, secrets, S3_ENDPOINT="http://old-minio:9000")
    fake_polaris.clear_requests()

    report = run(fake_polaris, secrets)

    updates = [
        r
        for r in fake_polaris.requests
        if r.method == "PUT" and r.path == f"{M}/catalogs/lakehouse"
    ]
    assert len(updates) == 1
    assert updates[0].body["currentEntityVersion"] == 1
    assert updates[0].body["storageConfigInfo"]["endpoint"] == "http://minio:9000"
    assert updates[0].body["storageConfigInfo"]["endpointInternal"] == "http://minio:9000"
    assert report.changes == ["catalog lakehouse updated (endpoint, endpointInternal)"]
    assert run(fake_polaris, secrets).changes == []


# --- (c) the contract --------------------------------------------------------------------------
def test_every_request_is_in_the_api_specs(fake_polaris: FakePolaris, polaris_contracts) -> None:  # noqa: F811
    secrets = MemorySecretStore()
    run(fake_polaris, secrets, S3_ENDPOINT="http://old-minio:9000")  # first run
    run(fake_polaris, secrets)  # catalog update
    del secrets.secrets["polaris-trino-reader"]
    run(fake_polaris, secrets)  # credential reset
    recorded = list(fake_polaris.requests)

    operations = {(r.method, r.path) for r in recorded}
    assert ("PUT", f"{M}/catalogs/lakehouse") in operations
    assert ("POST", f"{M}/principals/trino_reader/reset") in operations
    assert contract_problems(polaris_contracts, recorded) == []


def test_contract_check_catches_a_misspelt_storage_property(polaris_contracts) -> None:  # noqa: F811
    """The specs allow unknown properties; the contract check must not."""
    body = {
        "catalog": {
            "type": "INTERNAL",
            "name": "lakehouse",
            "properties": {"default-base-location": "s3://lakehouse/warehouse"},
            "storageConfigInfo": {
                "storageType": "S3",
                "stsUnavaliable": True,
                "pathStyleAccess": "yes",
            },
        }
    }
    bad = Recorded("POST", f"{M}/catalogs", {}, body, "application/json", {})
    problems = contract_problems(polaris_contracts, [bad])
    assert any("'stsUnavaliable' is not declared" in p for p in problems), problems
    assert any("'yes' is not of type 'boolean'" in p for p in problems), problems
    grant = {"grant": {"type": "namespace", "namespace": ["raw"], "privilege": "TABLE_WRITE"}}
    bad = Recorded(
        "PUT", f"{M}/catalogs/lakehouse/catalog-roles/r/grants", {}, grant, "application/json", {}
    )
    assert any(
        "'TABLE_WRITE' is not one of" in p for p in contract_problems(polaris_contracts, [bad])
    )
    bad = Recorded("DELETE", f"{C}/v1/lakehouse/namespaces", {}, None, "", {})
    assert contract_problems(polaris_contracts, [bad]) == [
        "DELETE /v1/{prefix}/namespaces: method not in iceberg-rest-catalog-open-api.yaml"
    ]


# --- (d) a missing Secret ----------------------------------------------------------------------
def test_principal_without_secret_gets_reset_credentials(fake_polaris: FakePolaris) -> None:  # noqa: F811
    secrets = MemorySecretStore()
    run(fake_polaris, secrets)
    old = secrets.secrets.pop("polaris-dbt-transformer")
    fake_polaris.clear_requests()

    report = run(fake_polaris, secrets)

    writes = [(r.method, r.path) for r in fake_polaris.requests if r.method != "GET"]
    assert writes == [
        ("POST", f"{C}/v1/oauth/tokens"),
        ("POST", f"{M}/principals/dbt_transformer/reset"),
    ]
    new = secrets.secrets["polaris-dbt-transformer"]
    assert new != old
    assert fake_polaris.principals["dbt_transformer"]["clientId"] == new["client-id"]
    assert fake_polaris.principals["dbt_transformer"]["secret"] == new["client-secret"]
    assert report.changes == [
        "principal dbt_transformer: credentials reset (secret polaris-dbt-transformer was missing)",
        "secret polaris-dbt-transformer written",
    ]
    # The reset credentials work.
    token = requests.post(
        f"{fake_polaris.url}{C}/v1/oauth/tokens",
        data={
            "grant_type": "client_credentials",
            "client_id": new["client-id"],
            "client_secret": new["client-secret"],
        },
        headers={"Polaris-Realm": "POLARIS"},
        timeout=5,
    )
    assert token.status_code == 200


def test_failed_secret_write_says_how_to_recover(fake_polaris: FakePolaris) -> None:  # noqa: F811
    class Broken(MemorySecretStore):
        def write(self, name: str, data: Any, labels: Any) -> None:
            raise RuntimeError("forbidden")

    with pytest.raises(
        PolarisError, match="resets the credentials of a principal whose Secret is missing"
    ):
        run(fake_polaris, Broken())
    # The re-run recovers: the principal exists, its Secret does not, so it is reset.
    secrets = MemorySecretStore()
    report = run(fake_polaris, secrets)
    assert (
        "principal ingestion_writer: credentials reset (secret polaris-ingestion-writer was missing)"
        in (report.changes)
    )
    assert sorted(secrets.secrets) == [
        "polaris-dbt-transformer",
        "polaris-ingestion-writer",
        "polaris-table-maintainer",
        "polaris-trino-reader",
    ]


# --- (e) Polaris down or starting --------------------------------------------------------------
def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def test_polaris_down_gives_a_clear_error_after_bounded_retries() -> None:
    port = closed_port()
    env = bootstrap_env(f"http://127.0.0.1:{port}")
    settings = BootstrapSettings.from_env(env)
    clock, progress = FakeTime(), []
    client = PolarisClient(
        settings.polaris,
        wait_timeout=30,
        echo=progress.append,
        sleep=clock.sleep,
        clock=clock.clock,
    )

    with pytest.raises(PolarisUnavailableError) as excinfo:
        bootstrap(client, settings.storage, MemorySecretStore(), echo=progress.append)

    message = str(excinfo.value)
    assert f"http://127.0.0.1:{port}/api/catalog/v1/oauth/tokens" in message
    assert "within 30s" in message and "ConnectionError" in message
    assert "POLARIS_TOKEN_URI" in message and "--wait-timeout" in message
    assert clock.sleeps == [1, 2, 4, 8, 10, 5]  # exponential backoff, capped, ends at the deadline
    assert sum("retrying in" in line for line in progress) == len(clock.sleeps)


def test_cli_reports_polaris_down_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    env = bootstrap_env(f"http://127.0.0.1:{closed_port()}")
    code = polaris.main(
        ["bootstrap", "--wait-timeout", "0.3"], env=env, secrets=MemorySecretStore()
    )
    assert code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Polaris did not issue a token")


def test_waits_for_a_starting_polaris() -> None:
    fake = FakePolaris(failing_token_requests=2).start()
    try:
        settings = BootstrapSettings.from_env(fake.env())
        clock, progress = FakeTime(), []
        client = PolarisClient(
            settings.polaris,
            wait_timeout=30,
            echo=progress.append,
            sleep=clock.sleep,
            clock=clock.clock,
        )
        client.authenticate()
    finally:
        fake.stop()
    assert clock.sleeps == [1, 2]
    assert progress[-1] == "polaris: answered after 3 attempts"
    assert "HTTP 503" in progress[0]


def test_wrong_root_credentials_fail_fast(fake_polaris: FakePolaris) -> None:  # noqa: F811
    settings = BootstrapSettings.from_env(fake_polaris.env(POLARIS_BOOTSTRAP_CLIENT_SECRET="nope"))
    clock = FakeTime()
    client = PolarisClient(
        settings.polaris, echo=lambda _: None, sleep=clock.sleep, clock=clock.clock
    )
    with pytest.raises(PolarisError, match="POLARIS_BOOTSTRAP_CLIENT_ID/SECRET") as excinfo:
        client.authenticate()
    assert excinfo.value.status == 401
    assert clock.sleeps == []


# --- configuration, print-only, Kubernetes Secrets ---------------------------------------------
def test_settings_name_the_missing_variable() -> None:
    env = bootstrap_env("http://polaris:8181")
    del env["POLARIS_BOOTSTRAP_CLIENT_SECRET"]
    with pytest.raises(SettingsError, match="POLARIS_BOOTSTRAP_CLIENT_SECRET is not set"):
        BootstrapSettings.from_env(env)
    settings = BootstrapSettings.from_env(env, require_credentials=False)
    assert settings.polaris.catalog_uri == "http://polaris:8181/api/catalog"
    assert "client_secret" not in repr(settings.polaris)


def test_print_only_needs_neither_polaris_nor_a_cluster(capsys: pytest.CaptureFixture[str]) -> None:
    env = bootstrap_env(f"http://127.0.0.1:{closed_port()}")
    del env["POLARIS_BOOTSTRAP_CLIENT_ID"], env["POLARIS_BOOTSTRAP_CLIENT_SECRET"]
    assert polaris.main(["bootstrap", "--print-only", "--secrets-namespace", "data"], env=env) == 0
    out = capsys.readouterr().out
    assert '"stsUnavailable": true' in out
    assert (
        "credentials -> Secret data/polaris-dbt-transformer (keys client-id, client-secret)" in out
    )
    assert "grant TABLE_WRITE_DATA on raw" in out


class FakeCoreV1:
    """The CoreV1Api calls the Secret store makes (get, create, patch: the verbs the bootstrap
    Job's Role grants), with Kubernetes-like 404 and 409 answers."""

    def __init__(self) -> None:
        self.secrets: dict[str, Any] = {}
        self.calls: list[str] = []

    def read_namespaced_secret(self, name: str, namespace: str) -> Any:
        from kubernetes.client.exceptions import ApiException

        self.calls.append(f"read {namespace}/{name}")
        if name not in self.secrets:
            raise ApiException(status=404, reason="Not Found")
        return self.secrets[name]

    def create_namespaced_secret(self, namespace: str, body: Any) -> None:
        from kubernetes.client.exceptions import ApiException

        self.calls.append(f"create {namespace}/{body.metadata.name}")
        if body.metadata.name in self.secrets:
            raise ApiException(status=409, reason="AlreadyExists")
        self._store(body)

    def patch_namespaced_secret(self, name: str, namespace: str, body: Any) -> None:
        self.calls.append(f"patch {namespace}/{name}")
        self._store(body)

    def _store(self, body: Any) -> None:
        import base64

        body.data = {k: base64.b64encode(v.encode()).decode() for k, v in body.string_data.items()}
        self.secrets[body.metadata.name] = body


def test_kubernetes_secret_store_creates_then_patches() -> None:
    api = FakeCoreV1()
    store = KubernetesSecretStore("lakehouse", api=api)
    labels = {"app.kubernetes.io/managed-by": "lakehouse-polaris-bootstrap"}
    assert store.read("polaris-x") is None
    store.write("polaris-x", {"client-id": "a", "client-secret": "b"}, labels)
    store.write("polaris-x", {"client-id": "c", "client-secret": "d"}, labels)
    assert store.read("polaris-x") == {"client-id": "c", "client-secret": "d"}
    assert api.calls == [
        "read lakehouse/polaris-x",
        "create lakehouse/polaris-x",
        "create lakehouse/polaris-x",
        "patch lakehouse/polaris-x",
        "read lakehouse/polaris-x",
    ]
    secret = api.secrets["polaris-x"]
    assert secret.type == "Opaque"
    assert secret.metadata.labels == {**labels, "app.kubernetes.io/part-of": "lakehouse"}
    assert json.loads(json.dumps(secret.string_data)) == {"client-id": "c", "client-secret": "d"}


# --- (e) Polaris 1.7.0's authorization of rotate and reset --------------------------------------
def _token(fake: FakePolaris, client_id: str, secret: str) -> str:
    response = requests.post(
        f"{fake.url}{C}/v1/oauth/tokens",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        headers={"Polaris-Realm": "POLARIS"},
        timeout=5,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _post(fake: FakePolaris, path: str, token: str, body: Any = None) -> requests.Response:
    return requests.post(
        f"{fake.url}{M}{path}",
        json=body,
        headers={"Polaris-Realm": "POLARIS", "Authorization": f"Bearer {token}"},
        timeout=5,
    )


def test_fake_polaris_refuses_an_admins_rotate_as_polaris_does(fake_polaris: FakePolaris) -> None:  # noqa: F811
    """apache/polaris 1.7.0 PolarisManagementServiceIntegrationTest: root's rotate of another
    principal is FORBIDDEN ("rotateCredentials is only a self privilege that even admins can't
    inherit"); the principal may rotate itself; root may reset it."""
    secrets = MemorySecretStore()
    run(fake_polaris, secrets)
    root = _token(fake_polaris, "root", "s3cr3t")
    assert _post(fake_polaris, "/principals/trino_reader/rotate", root).status_code == 403
    own = secrets.secrets["polaris-trino-reader"]
    self_token = _token(fake_polaris, own["client-id"], own["client-secret"])
    assert _post(fake_polaris, "/principals/trino_reader/rotate", self_token).status_code == 200
    # Reset is root's only: the principal itself gets 403, root gets new credentials.
    assert _post(fake_polaris, "/principals/trino_reader/reset", self_token, {}).status_code == 403
    reset = _post(fake_polaris, "/principals/trino_reader/reset", root, {})
    assert reset.status_code == 200
    assert reset.json()["credentials"]["clientSecret"]


def test_recovery_after_a_job_died_before_writing_the_secret(fake_polaris: FakePolaris) -> None:  # noqa: F811
    """The principal exists, its Secret does not: every later run must recover, not fail with 403."""
    run(fake_polaris, MemorySecretStore())  # principals created, Secrets lost with the dead Job
    secrets = MemorySecretStore()
    report = run(fake_polaris, secrets)
    assert sorted(secrets.secrets) == [
        "polaris-dbt-transformer",
        "polaris-ingestion-writer",
        "polaris-table-maintainer",
        "polaris-trino-reader",
    ]
    assert sum("credentials reset" in change for change in report.changes) == len(PRINCIPALS)
    assert run(fake_polaris, secrets).changes == []


def test_reset_disabled_says_which_flag(fake_polaris: FakePolaris) -> None:  # noqa: F811
    run(fake_polaris, MemorySecretStore())
    fake_polaris.credential_reset_enabled = False
    with pytest.raises(PolarisError, match="ENABLE_CREDENTIAL_RESET"):
        run(fake_polaris, MemorySecretStore())
