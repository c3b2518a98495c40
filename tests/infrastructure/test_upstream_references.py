"""What the project assumes about the objects the REAL upstream charts render, checked on them.

The services table (``services:`` in infrastructure/helm/charts.yaml), the Trino catalogs' URIs,
the NetworkPolicies' pod selectors and the Secrets the values reference are all written against
names, ports and labels the upstream charts choose. test_service_table.py holds every script to
the table; here the table and the policies are held to the charts rendered at their pinned
versions with the project's values (``upstream_charts``; skipped without
``LAKEHOUSE_UPSTREAM_CHARTS``, set by the kind-e2e workflow). Static: nothing is installed.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest
import yaml

from lakehouse.platform import secrets as platform_secrets
from tests.infrastructure import infra_checks as checks
from tests.infrastructure import run_pod
from tests.infrastructure.upstream_charts import missing, render

CHARTS = yaml.safe_load(checks.CHARTS_FILE.read_text())
BACKENDS = ("minio", "seaweedfs")
ALIAS_MANIFEST = "s3-alias-seaweedfs.yaml"
# `http://host:port/...`, `host.namespace:port`, `host.namespace.svc.cluster.local:port`.
ADDRESS_RE = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://)?(?P<host>[a-z0-9-]+)(?:\.[a-z0-9.-]+)?:(?P<port>\d+)(?:/.*)?$"
)
# SeaweedFS clients reach a server's gRPC port at its HTTP port + 10000 (seaweedfs/seaweedfs at
# tag 4.44, weed/pb/grpc_client_server.go: `grpcPort := int(port) + 10000`).
SEAWEEDFS_GRPC_OFFSET = 10000


def installed_releases(backend: str) -> list[str]:
    """The releases `make up` installs with ``s3_backend: backend`` (install_order)."""
    names = [step["release"] for step in CHARTS["install_order"] if "release" in step]
    return [backend if name == "s3" else name for name in names]


def project_docs(manifest_files: dict[str, list[dict[str, Any]]], backend: str) -> list[dict]:
    """The project's own manifests `make up` applies with that backend (the alias only with
    SeaweedFS: infrastructure/scripts/up.sh)."""
    return [
        doc
        for name, docs in manifest_files.items()
        if name != ALIAS_MANIFEST or backend == "seaweedfs"
        for doc in docs
    ]


def cluster(manifest_files, backend: str, releases: list[str]) -> list[dict[str, Any]]:
    """The project's manifests with that backend plus these releases rendered (skips the test
    when one of their charts is absent)."""
    docs = project_docs(manifest_files, backend)
    for name in releases:
        docs.extend(render(name))
    return docs


def pods(docs: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(location, pod template) of every pod the documents would create (a workload scaled to 0
    replicas creates none)."""
    found = []
    for doc in docs:
        if doc.get("spec", {}).get("replicas") == 0:
            continue
        for location, _ in checks.pod_specs(doc):
            found.append((location, doc if doc["kind"] == "Pod" else doc["spec"]["template"]))
    return found


def selected_pods(service: dict[str, Any], docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    selector = service["spec"].get("selector") or {}
    return [
        pod
        for _, pod in pods(docs)
        if selector and selector.items() <= (pod["metadata"].get("labels") or {}).items()
    ]


def container_port(service_port: dict[str, Any], pod: dict[str, Any]) -> int | None:
    """The pod port a Service port sends to (a named targetPort is looked up in the pod)."""
    target = service_port.get("targetPort", service_port["port"])
    if isinstance(target, int):
        return target
    for container in pod["spec"]["containers"]:
        for port in container.get("ports") or []:
            if port.get("name") == target:
                return port["containerPort"]
    return None


def resolve(address: str, docs: list[dict[str, Any]]) -> list[tuple[dict[str, Any], int]]:
    """(pod, container port) behind ``address``; fails when no Service of that name and port
    exists in ``docs`` or it selects no pod."""
    match = ADDRESS_RE.match(address)
    assert match, f"not a Service address: {address}"
    host, port = match["host"], int(match["port"])
    services = [d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == host]
    assert services, f"{address}: no Service {host!r} is rendered"
    (service,) = services
    ports = [p for p in service["spec"]["ports"] if p["port"] == port]
    assert ports, (
        f"{address}: Service {host} has ports {[p['port'] for p in service['spec']['ports']]}"
    )
    backends = [(pod, container_port(ports[0], pod)) for pod in selected_pods(service, docs)]
    assert backends, f"{address}: Service {host} selects no rendered pod"
    return backends


def labels_of(pod: dict[str, Any]) -> dict[str, str]:
    return dict(pod["metadata"].get("labels") or {})


def assert_reaches(docs, source: dict[str, Any], address: str, policies, extra_ports=()) -> None:
    """``source`` (a pod template) may open ``address`` (and ``extra_ports`` on the same pods)."""
    for pod, port in resolve(address, docs):
        assert port is not None, f"{address}: named targetPort not found in the pod"
        for each in (port, *extra_ports):
            assert checks.flow_allowed(
                policies, checks.Endpoint(labels_of(source)), checks.Endpoint(labels_of(pod)), each
            ), f"{labels_of(source)} -> {address} (pod port {each}) is denied by the policies"


def policies_of(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == "NetworkPolicy"]


@pytest.mark.parametrize("row", CHARTS["services"], ids=lambda row: row["name"])
def test_every_declared_service_is_rendered_with_its_port_and_pods(row, manifest_files) -> None:
    """The table's Service exists with its port, and the port lands on the port the
    NetworkPolicies open on pods labelled with the row's component (a chart that names its Service
    differently - issue 12's `dagster-webserver` - fails here)."""
    backend = row.get("backend") or CHARTS["s3_backend"]
    releases = installed_releases(backend)
    absent = missing(releases)
    docs = cluster(manifest_files, backend, [r for r in releases if r not in absent])
    named = [d for d in docs if d["kind"] == "Service" and d["metadata"]["name"] == row["service"]]
    if not named and absent:
        pytest.skip(f"{row['service']} is not rendered by the charts here; absent: {absent}")
    for pod, port in resolve(f"{row['service']}:{row['port']}", docs):
        assert labels_of(pod).get(checks.COMPONENT) == row["label"], (
            f"{row['service']} selects a pod labelled {labels_of(pod)}"
        )
        assert port == row["port"], f"{row['service']}:{row['port']} sends to pod port {port}"


@pytest.mark.parametrize("backend", BACKENDS)
def test_trino_catalog_addresses_name_rendered_services_it_may_reach(
    backend, manifest_files
) -> None:
    """Every URI and endpoint in the rendered catalog ConfigMap names a Service of the namespace
    with that port, and the policies let the rendered coordinator pod through to it."""
    docs = cluster(manifest_files, backend, ["trino", "polaris", backend])
    (catalogs,) = [
        d
        for d in render("trino")
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "trino-catalog"
    ]
    addresses = {
        value.strip()
        for text in catalogs["data"].values()
        for key, _, value in (line.partition("=") for line in text.splitlines())
        if key.endswith((".uri", ".server-uri", "s3.endpoint"))
    }
    assert addresses >= {"http://polaris:8181/api/catalog", "http://minio:9000"}
    (coordinator,) = [
        pod for _, pod in pods(render("trino")) if labels_of(pod).get(checks.COMPONENT) == "trino"
    ]
    for address in sorted(addresses):
        assert_reaches(docs, coordinator, address, policies_of(docs))


def test_polaris_pod_reaches_its_s3_store(manifest_files) -> None:
    """Polaris writes table metadata itself (values/polaris.yaml storage.secret) to the endpoint
    the catalog bootstrap sets: the rendered Polaris pod may open minio:9000."""
    backend = CHARTS["s3_backend"]
    docs = cluster(manifest_files, backend, ["polaris", backend])
    (polaris,) = [pod for _, pod in pods(render("polaris"))]
    assert_reaches(docs, polaris, "http://minio:9000", policies_of(docs))


def test_minio_bucket_job_reaches_the_server(manifest_files) -> None:
    """The chart's post-install Job (bucket, policy, user) talks to the MinIO Service it renders."""
    docs = cluster(manifest_files, "minio", ["minio"])
    jobs = [d for d in render("minio") if d["kind"] == "Job"]
    assert jobs, "the MinIO chart rendered no post-install Job: who creates the bucket?"
    for job in jobs:
        assert "post-install" in job["metadata"]["annotations"].get("helm.sh/hook", "")
        assert_reaches(docs, job["spec"]["template"], "http://minio:9000", policies_of(docs))


def test_seaweedfs_bucket_hook_reaches_master_and_filer(manifest_files) -> None:
    """The chart's bucket hook reaches the master and filer it is given (HTTP and gRPC)."""
    docs = cluster(manifest_files, "seaweedfs", ["seaweedfs"])
    (hook,) = [d for d in render("seaweedfs") if d["kind"] == "Job"]
    pod = hook["spec"]["template"]
    env = {e["name"]: e.get("value") for e in pod["spec"]["containers"][0].get("env") or []}
    addresses = [env["WEED_CLUSTER_SW_MASTER"], env["WEED_CLUSTER_SW_FILER"]]
    for address in addresses:
        port = int(ADDRESS_RE.match(address)["port"])
        assert_reaches(docs, pod, address, policies_of(docs), (port + SEAWEEDFS_GRPC_OFFSET,))


@pytest.mark.parametrize("name", [r["name"] for r in CHARTS["releases"]])
def test_every_rendered_pod_is_let_through_by_some_policy(name, manifest_files) -> None:
    """Under default-deny, a chart pod that no policy but the baseline selects can reach nothing
    but DNS: each pod the chart renders must carry the labels some policy selects on."""
    backend = name if name in BACKENDS else CHARTS["s3_backend"]
    baseline = {"default-deny-all", "allow-dns-egress"}
    policies = [
        p
        for p in policies_of(cluster(manifest_files, backend, [name]))
        if p["metadata"]["name"] not in baseline
    ]
    unselected = [
        location
        for location, pod in pods(render(name))
        if not any(
            checks.match_selector(p["spec"]["podSelector"], labels_of(pod)) for p in policies
        )
    ]
    assert unselected == []


def secret_references(docs: list[dict[str, Any]]) -> set[tuple[str, str | None]]:
    """(Secret, key or None for the whole Secret) every pod of ``docs`` reads, optional ones left
    out."""
    refs: set[tuple[str, str | None]] = set()
    for _, pod in pods(docs):
        spec = pod["spec"]
        for container in checks.containers(spec):
            for env in container.get("env") or []:
                ref = (env.get("valueFrom") or {}).get("secretKeyRef")
                if ref and not ref.get("optional"):
                    refs.add((ref["name"], ref["key"]))
            for source in container.get("envFrom") or []:
                ref = source.get("secretRef")
                if ref and not ref.get("optional"):
                    refs.add((ref["name"], None))
        volume_sources = []
        for volume in spec.get("volumes") or []:
            if "secret" in volume:
                volume_sources.append({**volume["secret"], "name": volume["secret"]["secretName"]})
            for projected in (volume.get("projected") or {}).get("sources") or []:
                if "secret" in projected:
                    volume_sources.append(projected["secret"])
        for source in volume_sources:
            if source.get("optional"):
                continue
            keys = [item["key"] for item in source.get("items") or []] or [None]
            refs.update((source["name"], key) for key in keys)
    return refs


@pytest.mark.parametrize("name", [r["name"] for r in CHARTS["releases"]])
def test_secrets_the_rendered_pods_read_exist_with_those_keys(name, known_secrets) -> None:
    """Each Secret (and key) a rendered pod reads is one the chart renders itself or one
    `lakehouse.platform.secrets generate` / the Polaris bootstrap creates, with that key."""
    docs = render(name)
    rendered = {
        d["metadata"]["name"]: set(d.get("stringData") or {}) | set(d.get("data") or {})
        for d in docs
        if d["kind"] == "Secret"
    }
    available = {**known_secrets, **rendered}
    missing = [
        f"{secret}/{key}" if key else secret
        for secret, key in sorted(secret_references(docs), key=str)
        if secret not in available or (key is not None and key not in available[secret])
    ]
    assert missing == []


def test_polaris_serves_the_realm_the_bootstrap_writes_root_credentials_for() -> None:
    """The realm-bootstrap Job writes root credentials for the realms in the `polaris-root`
    Secret's credentials.yaml; the rendered Polaris config must serve exactly those, the first
    being the default (no realm header needed)."""
    (config,) = [d for d in render("polaris") if d["kind"] == "ConfigMap"]
    properties = dict(
        line.split("=", 1)
        for line in config["data"]["application.properties"].splitlines()
        if "=" in line
    )
    (root,) = [spec for spec in platform_secrets.SPECS if spec.name == "polaris-root"]
    credentials = root.build({}, rotate=False, new=lambda: "generated")["credentials.yaml"]
    assert properties["polaris.realm-context.realms"].split(",") == list(
        yaml.safe_load(credentials)
    )
    assert properties["polaris.realm-context.require-header"] == "false"


@pytest.mark.parametrize("include", [None, True], ids=["values-file", "include-enabled"])
def test_dagster_run_pod_from_the_rendered_chart_is_the_one_the_values_plan(
    values, include
) -> None:
    """run_pod.py derives the run pod's two inputs from values/dagster.yaml the way the chart
    does; here dagster-k8s's merge is fed what the chart really renders instead - the code
    location's DAGSTER_CLI_API_GRPC_CONTAINER_CONTEXT and the instance ConfigMap's run_launcher
    config - and the run pod must come out the same. With ``includeConfigInLaunchedRuns`` off (the
    values file) the chart renders no such env var (charts/dagster-user-deployments/templates/
    deployment-user.yaml emits it only when enabled), and the run pod is the launcher's alone;
    turned on, the rendered context must be the one run_pod.py plans (it then wins the merge)."""
    dagster = copy.deepcopy(values["dagster"])
    (deployment,) = dagster["dagster-user-deployments"]["deployments"]
    if include is not None:
        deployment["includeConfigInLaunchedRuns"] = {"enabled": include}
    docs = render("dagster", dagster)
    contexts = [
        env["value"]
        for _, pod in pods(docs)
        for container in pod["spec"]["containers"]
        for env in container.get("env") or []
        if env["name"] == "DAGSTER_CLI_API_GRPC_CONTAINER_CONTEXT"
    ]
    planned_context = run_pod.code_location_context(deployment)
    assert len(contexts) == (0 if planned_context is None else 1)
    context = contexts[0] if contexts else None
    if context is not None:
        # The chart adds run_k8s_config (service-account token, pod annotations) run_pod.py leaves out.
        rendered_k8s = json.loads(context)["k8s"]
        rendered_k8s.pop("run_k8s_config")
        assert rendered_k8s == planned_context["k8s"]
    (instance,) = [
        yaml.safe_load(d["data"]["dagster.yaml"])
        for d in docs
        if d["kind"] == "ConfigMap" and "dagster.yaml" in (d.get("data") or {})
    ]
    assert instance["run_launcher"]["class"] == "K8sRunLauncher"
    launcher = run_pod.launcher_from_instance(instance["run_launcher"]["config"])
    rendered = run_pod.run_pod_summary(run_pod.effective_run_config(launcher, context))

    planned_launcher = dagster["runLauncher"]["config"]["k8sRunLauncher"]
    planned = run_pod.run_pod_summary(
        run_pod.effective_run_config(
            run_pod.launcher_from_values(planned_launcher), planned_context
        )
    )
    assert rendered["resources"] == planned["resources"]
    assert rendered["labels"] == planned["labels"]
    assert rendered["security_context"] == planned["security_context"]
    assert rendered["env"] == planned["env"]


def env_addresses(env: list[dict[str, Any]]) -> list[str]:
    """Service addresses in plain env values: URLs with a port, and a *_HOST with its *_PORT."""
    plain = {e["name"]: str(e["value"]) for e in env if "value" in e}
    addresses = [v for v in plain.values() if "://" in v and ADDRESS_RE.match(v)]
    for name, host in plain.items():
        if name.endswith("_HOST") and f"{name[:-5]}_PORT" in plain:
            addresses.append(f"{host}:{plain[name[:-5] + '_PORT']}")
    return addresses


@pytest.mark.parametrize("backend", BACKENDS)
def test_addresses_in_the_projects_env_name_rendered_services(
    backend, manifest_files, values, component_labels
) -> None:
    """Every Service address the project's own pods and the code location's env name exists with
    that port; the code location and its run pods, which open them all, are let through."""
    docs = cluster(manifest_files, backend, ["polaris", "trino", backend])
    for _, pod in pods(project_docs(manifest_files, backend)):
        for container in checks.containers(pod["spec"]):
            for address in env_addresses(container.get("env") or []):
                resolve(address, docs)
    (deployment,) = values["dagster"]["dagster-user-deployments"]["deployments"]
    addresses = env_addresses(deployment["env"])
    assert {"http://polaris:8181/api/catalog", "http://minio:9000", "trino:8080"} <= set(addresses)
    for component in ("code-location", "dagster-run"):
        source = {"metadata": {"labels": component_labels[component]}}
        for address in addresses:
            assert_reaches(docs, source, address, policies_of(docs))


def test_superset_pods_reach_their_metadata_database_and_trino(manifest_files) -> None:
    """The rendered superset_config.py's database address and the Trino URI of the dashboards
    bundle (analytics.cluster.trino_uri) name rendered Services, and the policies let the
    rendered web and init pods open both (the init Job imports the bundle's Trino connection)."""
    from analytics import cluster as analytics_cluster

    backend = CHARTS["s3_backend"]
    docs = cluster(manifest_files, backend, ["superset", "trino"])
    rendered = render("superset")
    (config,) = [
        d for d in rendered if d["kind"] == "Secret" and d["metadata"]["name"] == "superset-config"
    ]
    database = re.findall(r"@([a-z0-9-]+:\d+)/", config["stringData"]["superset_config.py"])
    assert database == ["lakehouse-postgres:5432"]
    trino = analytics_cluster.trino_uri().split("@", 1)[1]
    sources = [pod for _, pod in pods(rendered)]
    assert {labels_of(pod).get(checks.COMPONENT) for pod in sources} == {
        "superset",
        "superset-init",
    }
    for pod in sources:
        for address in (*database, trino):
            assert_reaches(docs, pod, address, policies_of(docs))
