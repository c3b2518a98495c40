"""The run pod gets the resources, labels and env the values file plans for it (issue 12, defect 2).

The merge is dagster-k8s's own (``K8sContainerContext.create_for_run`` from the installed
dagster-k8s 0.29.27, ``dagster_k8s/container_context.py``), fed with what the chart derives from
values/dagster.yaml (see tests/infrastructure/run_pod.py for the upstream templates it follows).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.infrastructure import infra_checks as checks
from tests.infrastructure import run_pod
from tests.infrastructure.test_values import PLAIN_CONTRACT, SECRET_CONTRACT


@pytest.fixture(scope="module")
def merged(values: dict[str, Any]) -> dict[str, Any]:
    dagster = values["dagster"]
    (deployment,) = dagster["dagster-user-deployments"]["deployments"]
    launcher = dagster["runLauncher"]["config"]["k8sRunLauncher"]
    config = run_pod.effective_run_config(
        run_pod.launcher_from_values(launcher), run_pod.code_location_context(deployment)
    )
    return run_pod.run_pod_summary(config)


def _launcher(values: dict[str, Any]) -> dict[str, Any]:
    return values["dagster"]["runLauncher"]["config"]["k8sRunLauncher"]


def test_run_pod_gets_the_run_launchers_resources(merged, values) -> None:
    assert merged["resources"] == _launcher(values)["resources"]
    assert merged["resources"]["limits"]["memory"] == "2Gi"


def test_run_pod_carries_the_dagster_run_label(merged, values) -> None:
    assert merged["labels"][checks.COMPONENT] == "dagster-run"
    assert merged["labels"] == _launcher(values)["labels"]


def test_run_pod_gets_the_whole_env_contract(merged) -> None:
    env = merged["env"]
    for name, value in PLAIN_CONTRACT.items():
        assert env[name].get("value") == value, name
    for name, (secret, key) in SECRET_CONTRACT.items():
        ref = env[name].get("value_from") or env[name].get("valueFrom")
        ref = ref.get("secret_key_ref") or ref.get("secretKeyRef")
        assert ref == {"name": secret, "key": key}, name


def test_run_container_keeps_the_restricted_security_context(merged) -> None:
    ctx = merged["security_context"]  # dagster-k8s holds it in snake case
    assert ctx["allow_privilege_escalation"] is False
    assert ctx["capabilities"] == {"drop": ["ALL"]}


def test_code_location_and_run_env_are_one_list(values) -> None:
    """The YAML anchor keeps them equal; a hand-copied second list would drift."""
    (deployment,) = values["dagster"]["dagster-user-deployments"]["deployments"]
    run_env = _launcher(values)["runK8sConfig"]["containerConfig"]["env"]
    assert run_env == deployment["env"]


def test_the_merge_really_lets_the_code_location_win() -> None:
    """Guard on the premise: were the context copied into runs, the code location would win."""
    launcher = run_pod.launcher_from_values(
        {"labels": {checks.COMPONENT: "dagster-run"}, "resources": {"limits": {"memory": "2Gi"}}}
    )
    context = {
        "k8s": {
            "labels": {checks.COMPONENT: "code-location"},
            "resources": {"limits": {"memory": "1Gi"}},
        }
    }
    summary = run_pod.run_pod_summary(run_pod.effective_run_config(launcher, context))
    assert summary["resources"]["limits"]["memory"] == "1Gi"
    assert summary["labels"][checks.COMPONENT] == "code-location"
