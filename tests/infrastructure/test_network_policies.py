"""NetworkPolicies: default deny, DNS, then exactly the documented flows (SETUP_GUIDE.md).

Policies are evaluated with the NetworkPolicy semantics (a flow needs the source's egress AND the
destination's ingress) against the pod labels each component really gets from its manifest or
values file (fixture ``component_labels``), so a renamed label breaks these tests.
"""

from __future__ import annotations

import pytest

from tests.infrastructure import infra_checks as checks

# (source, destination, port) - the allowed flows, as documented in SETUP_GUIDE.md.
ALLOWED = [
    ("code-location", "polaris", 8181),
    ("code-location", "s3", 9000),
    ("code-location", "trino", 8080),
    ("code-location", "postgres", 5432),
    ("dagster-run", "polaris", 8181),
    ("dagster-run", "s3", 9000),
    ("dagster-run", "trino", 8080),
    ("dagster-run", "postgres", 5432),
    ("trino", "polaris", 8181),
    ("trino", "s3", 9000),
    ("polaris", "postgres", 5432),
    ("polaris", "s3", 9000),
    ("dagster-webserver", "postgres", 5432),
    ("dagster-webserver", "code-location", 3030),
    ("dagster-daemon", "postgres", 5432),
    ("dagster-daemon", "code-location", 3030),
    ("polaris-bootstrap", "polaris", 8181),
    ("polaris-realm-bootstrap", "postgres", 5432),
    ("s3", "s3", 9000),  # MinIO's post-install job (same label) creates the bucket
    ("superset", "trino", 8080),
    ("superset", "postgres", 5432),
    ("superset-init", "postgres", 5432),
    # Importing the bundle's connection lists Trino's catalogs (Superset 6.1.0,
    # superset/commands/database/utils.py add_permissions): seen failing without Trino.
    ("superset-init", "trino", 8080),
]
# Flows that must stay closed.
DENIED = [
    ("trino", "postgres", 5432),
    ("dbt-docs", "postgres", 5432),
    ("dbt-docs", "polaris", 8181),
    ("dbt-docs", "s3", 9000),
    ("s3", "polaris", 8181),
    ("polaris", "trino", 8080),
    ("polaris-bootstrap", "postgres", 5432),
    ("polaris-bootstrap", "s3", 9000),
    ("polaris-realm-bootstrap", "polaris", 8181),
    ("code-location", "dagster-webserver", 3000),
    ("dagster-webserver", "trino", 8080),
    ("trino", "code-location", 3030),
    ("code-location", "polaris", 8182),  # Polaris management port: probes only
    ("superset", "polaris", 8181),  # Superset reads gold through Trino only
    ("superset", "s3", 9000),
    ("superset-init", "polaris", 8181),
    ("trino", "superset", 8088),
    ("code-location", "superset", 8088),
    ("dagster-run", "superset", 8088),
]
KUBE_API = checks.Endpoint(ip="10.96.0.1")
INTERNET = checks.Endpoint(ip="93.184.216.34")
KUBE_DNS = checks.Endpoint(labels={"k8s-app": "kube-dns"}, namespace="kube-system")


def pod(component_labels, name: str) -> checks.Endpoint:
    return checks.Endpoint(labels=component_labels[name])


def test_default_deny_for_every_pod_both_ways(network_policies) -> None:
    assert checks.default_deny_violations(network_policies) == []


def test_a_pod_no_policy_mentions_is_fully_isolated(network_policies, component_labels) -> None:
    stranger = checks.Endpoint(labels={"app": "anything"})
    for target in ("postgres", "polaris", "trino", "s3"):
        assert not checks.flow_allowed(
            network_policies, stranger, pod(component_labels, target), 5432
        )
    assert not checks.flow_allowed(network_policies, stranger, INTERNET, 443)


def test_every_pod_may_resolve_names(network_policies, component_labels) -> None:
    for name in component_labels:
        source = pod(component_labels, name)
        assert checks.flow_allowed(network_policies, source, KUBE_DNS, 53, "UDP"), name
        assert checks.flow_allowed(network_policies, source, KUBE_DNS, 53, "TCP"), name


@pytest.mark.parametrize(("src", "dst", "port"), ALLOWED)
def test_documented_flow_is_allowed(src, dst, port, network_policies, component_labels) -> None:
    assert checks.flow_allowed(
        network_policies, pod(component_labels, src), pod(component_labels, dst), port
    )


@pytest.mark.parametrize(("src", "dst", "port"), DENIED)
def test_undocumented_flow_is_denied(src, dst, port, network_policies, component_labels) -> None:
    assert not checks.flow_allowed(
        network_policies, pod(component_labels, src), pod(component_labels, dst), port
    )


def test_only_dagster_and_the_bootstrap_job_reach_the_kubernetes_api(
    network_policies, component_labels
) -> None:
    allowed = {
        name
        for name in component_labels
        if checks.flow_allowed(network_policies, pod(component_labels, name), KUBE_API, 443)
        and checks.flow_allowed(network_policies, pod(component_labels, name), KUBE_API, 6443)
    }
    assert allowed == {"dagster-webserver", "dagster-daemon", "polaris-bootstrap"}


def test_nothing_reaches_the_internet(network_policies, component_labels) -> None:
    for name in component_labels:
        for port in (80, 8080):
            assert not checks.flow_allowed(
                network_policies, pod(component_labels, name), INTERNET, port
            ), name


def test_every_policy_selects_a_real_component(network_policies, component_labels) -> None:
    for policy in network_policies:
        selector = policy["spec"]["podSelector"]
        if selector == {}:
            continue
        assert any(
            checks.match_selector(selector, labels) for labels in component_labels.values()
        ), policy["metadata"]["name"]
