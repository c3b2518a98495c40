"""Kubernetes Secrets of one namespace: the one store both cluster tools write to.

``lakehouse.platform.secrets`` (random platform credentials) and the Polaris bootstrap
(principal credentials) read and write Secrets through :class:`SecretStore`, so their logic is
tested against an in-memory store (tests/infrastructure/secret_doubles.py) without a cluster;
:class:`KubernetesSecretStore` is the real one.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any, Protocol

PART_OF = {"app.kubernetes.io/part-of": "lakehouse"}


class SecretStoreError(RuntimeError):
    """The Kubernetes API could not be reached or refused a request; the message says why."""


class SecretStore(Protocol):
    """The operations the cluster tools need from the Secrets of one namespace."""

    def read(self, name: str) -> dict[str, str] | None:
        """The Secret's decoded data, or ``None`` if it does not exist."""
        ...

    def write(self, name: str, data: Mapping[str, str], labels: Mapping[str, str]) -> None:
        """Create the Secret, or patch it (its keys and labels) if it exists."""
        ...

    def describe(self, name: str) -> str:
        """How to name the Secret in a message (``Secret <namespace>/<name>``)."""
        ...


class KubernetesSecretStore:
    """Opaque Secrets of one namespace, through the official ``kubernetes`` client.

    In a pod it uses the service account (in-cluster config); elsewhere the kubeconfig, with
    ``context`` if given. ``write`` needs the verbs get, create and patch on ``secrets`` (the
    Polaris bootstrap Job's Role grants exactly those). ``api`` is a ``CoreV1Api`` (tests pass
    a double).
    """

    def __init__(self, namespace: str, *, context: str | None = None, api: Any = None) -> None:
        self.namespace = namespace
        self.context = context
        self._api = api

    @property
    def api(self) -> Any:
        if self._api is None:
            from kubernetes import client, config

            try:
                config.load_incluster_config()
            except config.ConfigException:
                try:
                    config.load_kube_config(context=self.context)
                except (config.ConfigException, OSError) as exc:
                    where = f"context {self.context!r}" if self.context else "no kubeconfig"
                    raise SecretStoreError(
                        f"cannot reach the Kubernetes API: not in a pod and {where} ({exc})."
                    ) from exc
            self._api = client.CoreV1Api()
        return self._api

    def read(self, name: str) -> dict[str, str] | None:
        from kubernetes.client.exceptions import ApiException

        try:
            secret = self.api.read_namespaced_secret(name, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise SecretStoreError(_k8s_error("read", self.describe(name), exc)) from exc
        return {k: base64.b64decode(v).decode() for k, v in (secret.data or {}).items()}

    def write(self, name: str, data: Mapping[str, str], labels: Mapping[str, str]) -> None:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        body = client.V1Secret(
            api_version="v1",
            kind="Secret",
            type="Opaque",
            metadata=client.V1ObjectMeta(
                name=name, namespace=self.namespace, labels={**PART_OF, **labels}
            ),
            string_data=dict(data),
        )
        try:
            self.api.create_namespaced_secret(self.namespace, body)
        except ApiException as exc:
            if exc.status != 409:
                raise SecretStoreError(_k8s_error("create", self.describe(name), exc)) from exc
            try:
                # patch (not replace): the bootstrap Job's Role grants get/patch/create only.
                self.api.patch_namespaced_secret(name, self.namespace, body)
            except ApiException as exc2:
                raise SecretStoreError(_k8s_error("patch", self.describe(name), exc2)) from exc2

    def describe(self, name: str) -> str:
        return f"Secret {self.namespace}/{name}"


def _k8s_error(verb: str, what: str, exc: Any) -> str:
    status = getattr(exc, "status", None)
    hint = (
        " The service account needs get, create and patch on secrets in this namespace (a Role "
        "+ RoleBinding)."
        if status == 403
        else ""
    )
    return f"could not {verb} {what}: HTTP {status or '?'} {getattr(exc, 'reason', exc)}.{hint}"
