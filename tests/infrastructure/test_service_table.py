"""One table of Service names, ports and pod labels (``services:`` in infrastructure/helm/charts.yaml).

Every script, doc, workflow, manifest, values file and NetworkPolicy that names a Service, a port or
a component label is checked against the table, so a name cannot drift in one place (issue 12,
defect 1: port-forward.sh forwarded ``svc/dagster-webserver``, a Service the chart never creates).

The table is read here with plain YAML, not through ``lakehouse.platform.charts``: the test holds
the scripts to the declared table, not to the code that prints it.

How each chart names its Service (read from upstream at the pinned versions; nothing is rendered
here; test_upstream_references.py holds the table to the real charts rendered in CI):
* dagster-io/dagster ``helm/dagster/templates/helpers/_helpers.tpl``, ``dagster.webserver.fullname``:
  ``printf "%s-%s" .Release.Name (default "webserver" .Values.dagsterWebserver.nameOverride)``, used
  as the Service name by ``helpers/_service-webserver.tpl`` with port ``dagsterWebserver.service.port``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.infrastructure import infra_checks as checks
from tests.infrastructure.test_scripts import calls, run_script, stubs  # noqa: F401 (fixture)

REPO = checks.INFRA.parent
# Every file that may name a Service: scripts, the Makefiles, the docs and the CI workflows.
REFERENCING_FILES = sorted(
    [
        *(checks.INFRA / "scripts").glob("*"),
        checks.INFRA / "platform.mk",
        REPO / "Makefile",
        REPO / "SETUP_GUIDE.md",
        REPO / "TEARDOWN.md",
        *(REPO / ".github" / "workflows").glob("*.yml"),
    ]
)
SVC_RE = re.compile(r"\bsvc/([a-z0-9][a-z0-9-]*[a-z0-9])")


@pytest.fixture(scope="module")
def table() -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(checks.CHARTS_FILE.read_text())
    return {row["name"]: row for row in doc["services"]}


def _release(name: str) -> dict[str, Any]:
    doc = yaml.safe_load(checks.CHARTS_FILE.read_text())
    return next(r for r in doc["releases"] if r["name"] == name)


def test_the_table_is_complete_and_unique(table) -> None:
    services = [row["service"] for row in table.values()]
    assert len(services) == len(set(services))
    local = [row["local_port"] for row in table.values() if "local_port" in row]
    assert len(local) == len(set(local)), "two forwards on one laptop port"
    assert {"dagster-webserver", "trino", "polaris", "minio", "code-location"} <= set(table)


def test_dagster_webserver_service_is_named_as_the_chart_names_it(table, charts) -> None:
    """``<release>-<dagsterWebserver.nameOverride>`` (_helpers.tpl, ``dagster.webserver.fullname``)."""
    values = yaml.safe_load((checks.VALUES_DIR / "dagster.yaml").read_text())
    webserver = values["dagsterWebserver"]
    expected = f"{_release('dagster')['name']}-{webserver.get('nameOverride') or 'webserver'}"
    row = table["dagster-webserver"]
    assert row["service"] == expected == "dagster-dagster-webserver"
    assert row["port"] == webserver["service"]["port"]
    assert row["label"] == webserver["labels"][checks.COMPONENT]


def test_code_location_row_matches_the_deployment(table) -> None:
    values = yaml.safe_load((checks.VALUES_DIR / "dagster.yaml").read_text())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    row = table["code-location"]
    # dagster-user-deployments names the Service after the deployment (its workspace.yaml host).
    assert row["service"] == deployment["name"]
    assert row["port"] == deployment["port"]
    assert row["label"] == deployment["labels"][checks.COMPONENT]


def test_project_manifest_services_match_the_table(table, manifests) -> None:
    declared = {row["service"]: row for row in table.values()}
    for doc in manifests:
        if doc.get("kind") != "Service":
            continue
        name = doc["metadata"]["name"]
        assert name in declared, f"Service {name} is not in charts.yaml services:"
        ports = {p["port"] for p in doc["spec"]["ports"]}
        assert declared[name]["port"] in ports, name


@pytest.mark.parametrize("path", REFERENCING_FILES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_service_reference_is_declared(path: Path, table) -> None:
    declared = {row["service"] for row in table.values()}
    text = path.read_text()
    unknown = sorted(set(SVC_RE.findall(text)) - declared)
    assert unknown == [], f"{path.name} names Services no chart creates: {unknown}"


def test_network_policies_open_the_declared_port_of_each_component(table, network_policies) -> None:
    ports_by_label: dict[str, set[int]] = {}
    for row in table.values():
        ports_by_label.setdefault(row["label"], set()).add(row["port"])
    for policy in network_policies:
        selected = policy["spec"]["podSelector"].get("matchLabels", {}).get(checks.COMPONENT)
        if selected in ports_by_label:
            for rule in policy["spec"].get("ingress") or []:
                for port in rule.get("ports") or []:
                    assert port["port"] in ports_by_label[selected], (
                        f"{policy['metadata']['name']}: ingress port {port['port']}"
                    )
        for rule in policy["spec"].get("egress") or []:
            for peer in rule.get("to") or []:
                target = (
                    (peer.get("podSelector") or {}).get("matchLabels", {}).get(checks.COMPONENT)
                )
                if target in ports_by_label:
                    for port in rule.get("ports") or []:
                        assert port["port"] in ports_by_label[target], (
                            f"{policy['metadata']['name']}: egress to {target} on {port['port']}"
                        )


def test_e2e_check_uses_the_declared_local_ports(table) -> None:
    sys.path.insert(0, str(checks.INFRA / "scripts"))
    try:
        import e2e_check
    finally:
        sys.path.pop(0)
    args = e2e_check.build_parser().parse_args([])
    assert args.dagster_port == table["dagster-webserver"]["local_port"]
    assert args.trino_port == table["trino"]["local_port"]


def test_the_workflow_waits_on_declared_local_ports(table) -> None:
    text = (REPO / ".github" / "workflows" / "kind-e2e.yml").read_text()
    (ports,) = re.findall(r"for port in ([0-9 ]+); do", text)
    declared = {row.get("local_port") for row in table.values()}
    assert set(map(int, ports.split())) <= declared


def test_port_forward_forwards_exactly_the_declared_services(stubs, table) -> None:  # noqa: F811
    """Run with a stub kubectl: every declared forward (and only those) is started."""
    Path(stubs["STUB_DIR"], "clusters").write_text("lakehouse\n")
    result = run_script(
        "port-forward.sh", stubs, PORT_FORWARD_SETTLE="0.5", STUB_FORWARD_SECONDS="2"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    backend = yaml.safe_load(checks.CHARTS_FILE.read_text())["s3_backend"]
    expected = {
        f"svc/{row['service']} {row['local_port']}:{row['port']}"
        for row in table.values()
        if "local_port" in row and row.get("backend") in (None, backend)
    }
    forwarded = {
        " ".join(line.split(" port-forward ", 1)[1].split()[:2])
        for line in calls(stubs)
        if " port-forward " in line
    }
    # A port in use on this machine is skipped (and said so): count those as handled too.
    skipped = {f"{m.group(1)}" for m in re.finditer(r"skip (svc/\S+)", result.stdout)}
    assert {f for f in forwarded} | {e for e in expected if e.split()[0] in skipped} == expected
    assert "svc/dagster-dagster-webserver" in result.stdout


def test_a_failed_forward_is_reported_with_kubectls_message(stubs) -> None:  # noqa: F811
    """Defect 1's silence: a forward whose Service is missing stops the script and says why."""
    Path(stubs["STUB_DIR"], "clusters").write_text("lakehouse\n")
    result = run_script(
        "port-forward.sh",
        stubs,
        PORT_FORWARD_SETTLE="0.5",
        STUB_FORWARD_SECONDS="2",
        STUB_MISSING_SERVICE="polaris",
    )
    if "skip svc/polaris" in result.stdout:
        pytest.skip("port 8181 is in use on this machine, so polaris is not forwarded")
    assert result.returncode != 0
    assert 'services "polaris" not found' in result.stderr
    assert "a port-forward stopped" in result.stderr


def test_forwards_subcommand_prints_the_table(table) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "lakehouse.platform.charts", "forwards"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    assert "svc/dagster-dagster-webserver 3000:3000 Dagster UI" in out.splitlines()
