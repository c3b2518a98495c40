"""SETUP_GUIDE.md and TEARDOWN.md stay true to the files they describe."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.infrastructure import infra_checks as checks
from tests.infrastructure.test_scripts import run_script, stubs  # noqa: F401 (fixture)

GUIDE = (checks.INFRA.parent / "SETUP_GUIDE.md").read_text()
TEARDOWN = (checks.INFRA.parent / "TEARDOWN.md").read_text()


def _cpu(quantity: str) -> int:
    quantity = str(quantity)
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


def _mib(quantity: str) -> int:
    quantity = str(quantity)
    return int(float(quantity[:-2]) * (1024 if quantity.endswith("Gi") else 1))


def sizing(values: dict[str, Any], manifest_files) -> tuple[list[int], list[int]]:
    dagster = values["dagster"]
    resources = [
        values["minio"]["resources"],
        values["polaris"]["resources"],
        values["trino"]["coordinator"]["resources"],
        dagster["dagsterWebserver"]["resources"],
        dagster["dagsterDaemon"]["resources"],
        dagster["dagster-user-deployments"]["deployments"][0]["resources"],
        values["superset"]["supersetNode"]["resources"],
    ]
    for name in ("postgres.yaml", "dbt-docs.yaml"):
        for doc in manifest_files[name]:
            if doc["kind"] in ("Deployment", "StatefulSet"):
                resources += [c["resources"] for c in doc["spec"]["template"]["spec"]["containers"]]

    def total(items):
        return [
            sum(_cpu(r["requests"]["cpu"]) for r in items),
            sum(_mib(r["requests"]["memory"]) for r in items),
            sum(_cpu(r["limits"]["cpu"]) for r in items),
            sum(_mib(r["limits"]["memory"]) for r in items),
        ]

    run = dagster["runLauncher"]["config"]["k8sRunLauncher"]["resources"]
    return total(resources), total([*resources, run])


def test_documented_sizing_totals_match_the_files(values, manifest_files) -> None:
    steady, peak = sizing(values, manifest_files)
    cpu_r, mem_r, cpu_l, mem_l = steady
    assert (
        f"| **Total, steady** | **{cpu_r}m** | **{mem_r}Mi** | **{cpu_l}m** | **{mem_l}Mi** |"
        in GUIDE
    )
    cpu_r, mem_r, cpu_l, mem_l = peak
    assert (
        f"| **Total, during a run** | **{cpu_r}m** | **{mem_r}Mi** | **{cpu_l}m** | **{mem_l}Mi** |"
        in GUIDE
    )


def test_guide_sections_follow_the_make_targets() -> None:
    headings = [line[3:].strip() for line in GUIDE.splitlines() if line.startswith("## ")]
    expected = [
        "Setup", "Demo", "Dev", "Test", "Docs", "Cluster requirements", "Preflight", "Up", "Verify",
        "Port-forward", "Run the graph", "Query gold through Trino", "Troubleshooting",
    ]  # fmt: skip
    positions = [headings.index(name) for name in expected]
    assert positions == sorted(positions)
    for topic in (
        "Path-style S3",
        "Vended credentials",
        "Polaris grants",
        "Image pull on kind",
        "Memory",
    ):
        assert f"**{topic}.**" in GUIDE


def test_guide_lists_the_pinned_versions(charts) -> None:
    for release in charts["releases"]:
        assert f"| {release['version']} |" in GUIDE, release["name"]
        for image in release["images"]:
            short = image.removeprefix("docker.io/").removeprefix("library/")
            assert short in GUIDE, image


def test_guide_says_what_was_only_checked_statically() -> None:
    assert "no Docker engine, no kind, no helm binary and no Kubernetes API server" in GUIDE
    assert "Nothing was installed on a cluster there" in GUIDE


def test_teardown_names_what_remains() -> None:
    for item in (
        "make down",
        "infrastructure/.secrets/credentials.env",
        ".data/",
        "make clean",
        "lakehouse-code:dev",
    ):
        assert item in TEARDOWN


def test_port_forward_ports_match_the_guide(charts) -> None:
    """The guide's table names every local port of the services table (what port-forward.sh uses)."""
    local_ports = [row["local_port"] for row in charts["services"] if "local_port" in row]
    assert sorted(local_ports) == [3000, 8080, 8081, 8088, 8181, 9000, 9001]
    for port in local_ports:
        assert f"http://localhost:{port}" in GUIDE


def test_ci_workflow_runs_the_whole_path() -> None:
    workflow = yaml.safe_load(
        (checks.INFRA.parent / ".github" / "workflows" / "kind-e2e.yml").read_text()
    )
    steps = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    text = "\n".join(steps)
    for needle in (
        "pytest -m containers",
        "make up",
        "e2e_check.py",
        "make down",
        "uv sync --frozen",
    ):
        assert needle in text, needle


def _teardown_commands() -> list[str]:
    rows = [line for line in TEARDOWN.splitlines() if line.startswith("| ") and "`" in line]
    return [cmd for row in rows for cmd in re.findall(r"`([^`]+)`", row.rsplit("|", 2)[-2])]


def test_down_prints_the_same_list_as_teardown(stubs) -> None:  # noqa: F811
    """Issue 12, defect 9: TEARDOWN.md promised the list `make down` prints; it printed another."""
    result = run_script("down.sh", stubs)
    assert result.returncode == 0, result.stderr
    commands = [c for c in _teardown_commands() if "kind delete" not in c]
    assert commands
    for command in commands:
        assert command in result.stdout, command


def test_node_image_removal_matches_the_pinned_digest(charts) -> None:
    digest = charts["kind"]["node_image"].split("@", 1)[1]
    assert f"docker image rm kindest/node@{digest}" in TEARDOWN


def test_guide_has_trino_shell_mc_alias_and_polaris_token() -> None:
    makefile = (checks.INFRA / "platform.mk").read_text()
    assert "\ntrino: ##" in makefile and "make trino" in GUIDE
    assert "mc alias set lakehouse http://localhost:9000" in GUIDE
    # Credentials come from the Secret, never literals.
    alias = GUIDE[GUIDE.index("mc alias set") :].split("```")[0]
    assert "kubectl -n lakehouse get secret lakehouse-s3" in alias
    token = GUIDE[GUIDE.index("### A Polaris token") :].split("```")[1]
    assert "get secret polaris-root" in token and "/api/catalog/v1/oauth/tokens" in token
    assert "/api/management/v1/catalogs" in token
