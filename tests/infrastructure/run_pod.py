"""What a Dagster run pod gets, computed with dagster-k8s's own merge over the chart's inputs.

Two inputs reach ``K8sContainerContext.create_for_run`` (installed dagster-k8s 0.29.27,
``dagster_k8s/container_context.py``): the run launcher's config from the instance ConfigMap, and
the code location's container context, which the chart passes to ``dagster api grpc`` through
``DAGSTER_CLI_API_GRPC_CONTAINER_CONTEXT`` when ``includeConfigInLaunchedRuns`` is on (the chart's
default when the key is absent). ``create_for_run`` merges the code location's context OVER the
launcher's, so on a conflict the code location wins.

Offline, both inputs are derived from the values file the way the pinned chart derives them:
* the container context: ``dagsterUserDeployments.k8sContainerContext`` in dagster-io/dagster
  ``helm/dagster/charts/dagster-user-deployments/templates/helpers/_helpers.tpl`` (image pull
  policy, the ``<fullname>-<name>-user-env`` ConfigMap, envConfigMaps/envSecrets names, volumes,
  labels, resources, namespace, service account, a list ``env``), emitted by
  ``templates/deployment-user.yaml`` only if ``includeConfigInLaunchedRuns.enabled`` (default true);
* the launcher: ``dagsterYaml.runLauncher.k8s`` in ``helm/dagster/templates/helpers/instance/
  _run-launcher.tpl`` (``labels``, ``resources``, ``securityContext``, ``runK8sConfig`` with its
  keys in snake case).
With ``LAKEHOUSE_UPSTREAM_CHARTS`` set (CI), test_upstream_references.py feeds the same merge the
rendered chart's real env var and instance ConfigMap instead.
"""

from __future__ import annotations

import json
import re
from types import SimpleNamespace
from typing import Any

NAMESPACE = "lakehouse"
RELEASE = "dagster"
# `dagster.fullname` of the dagster-user-deployments subchart (its templates/helpers/_helpers.tpl):
# the release name plus the subchart's name, which the release name does not contain.
SUBCHART_FULLNAME = f"{RELEASE}-dagster-user-deployments"


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def code_location_context(deployment: dict[str, Any]) -> dict[str, Any] | None:
    """The container context the chart hands to ``dagster api grpc`` (None when not included)."""
    include = deployment.get("includeConfigInLaunchedRuns") or {"enabled": True}
    if not include.get("enabled", True):
        return None
    k8s: dict[str, Any] = {
        "image_pull_policy": deployment["image"]["pullPolicy"],
        "env_config_maps": [f"{SUBCHART_FULLNAME}-{deployment['name']}-user-env"]
        + [c["name"] for c in deployment.get("envConfigMaps") or [] if "name" in c],
        "namespace": NAMESPACE,
        "service_account_name": f"{SUBCHART_FULLNAME}-user-deployments",
    }
    if deployment.get("envSecrets"):
        k8s["env_secrets"] = [s["name"] for s in deployment["envSecrets"] if "name" in s]
    for key, target in (
        ("volumeMounts", "volume_mounts"),
        ("volumes", "volumes"),
        ("labels", "labels"),
        ("resources", "resources"),
    ):
        if deployment.get(key):
            k8s[target] = deployment[key]
    if isinstance(deployment.get("env"), list):
        k8s["env"] = deployment["env"]
    return {"k8s": k8s}


def launcher_from_values(launcher: dict[str, Any]) -> SimpleNamespace:
    """The K8sRunLauncher's attributes as the instance ConfigMap configures them."""
    run_k8s_config = {
        _snake(key): value for key, value in (launcher.get("runK8sConfig") or {}).items()
    }
    return launcher_from_instance(
        {
            "image_pull_policy": launcher.get("imagePullPolicy"),
            "service_account_name": f"{RELEASE}",
            "labels": launcher.get("labels"),
            "resources": launcher.get("resources"),
            "security_context": launcher.get("securityContext"),
            "run_k8s_config": run_k8s_config,
            "job_namespace": NAMESPACE,
        }
    )


def launcher_from_instance(config: dict[str, Any]) -> SimpleNamespace:
    """A stand-in with the attributes ``create_for_run`` reads from a K8sRunLauncher."""
    return SimpleNamespace(
        image_pull_policy=config.get("image_pull_policy"),
        image_pull_secrets=config.get("image_pull_secrets"),
        service_account_name=config.get("service_account_name"),
        env_config_maps=[c for c in config.get("env_config_maps") or [] if isinstance(c, str)],
        env_secrets=config.get("env_secrets"),
        env_vars=config.get("env_vars"),
        volume_mounts=config.get("volume_mounts"),
        volumes=config.get("volumes"),
        labels=config.get("labels"),
        job_namespace=config.get("job_namespace"),
        resources=config.get("resources"),
        scheduler_name=config.get("scheduler_name"),
        security_context=config.get("security_context"),
        run_k8s_config=config.get("run_k8s_config"),
        only_allow_user_defined_k8s_config_fields=None,
        only_allow_user_defined_env_vars=None,
    )


def effective_run_config(
    launcher: SimpleNamespace, container_context: dict[str, Any] | str | None
) -> dict[str, Any]:
    """The run pod's user-defined k8s config after dagster-k8s's own merge (``create_for_run``)."""
    from dagster_k8s.container_context import K8sContainerContext

    if isinstance(container_context, str):
        container_context = json.loads(container_context)
    run = SimpleNamespace(
        tags={},
        job_code_origin=SimpleNamespace(
            repository_origin=SimpleNamespace(container_context=container_context)
        ),
    )
    context = K8sContainerContext.create_for_run(run, launcher, include_run_tags=True)
    return context.run_k8s_config.to_dict()


def run_pod_summary(run_config: dict[str, Any]) -> dict[str, Any]:
    """Resources, labels and env names of the run container, from a merged run config."""
    container = run_config.get("container_config") or {}
    metadata = run_config.get("pod_template_spec_metadata") or {}
    return {
        "resources": container.get("resources") or {},
        "labels": metadata.get("labels") or {},
        "env": {e["name"]: e for e in container.get("env") or []},
        "security_context": container.get("security_context") or {},
    }
