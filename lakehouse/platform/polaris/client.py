"""A thin REST client for the Polaris management API and the Iceberg REST calls the bootstrap makes."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

from lakehouse.platform.polaris.settings import PolarisConfig

DEFAULT_WAIT_TIMEOUT = 180.0

Echo = Callable[[str], None]


class PolarisError(RuntimeError):
    """A Polaris request failed; the message says which request and what to check."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class PolarisUnavailableError(PolarisError):
    """Polaris did not answer (or kept answering 5xx) within the wait timeout."""


@dataclass(frozen=True)
class Credentials:
    client_id: str
    client_secret: str = field(repr=False)

    def secret_data(self) -> dict[str, str]:
        return {"client-id": self.client_id, "client-secret": self.client_secret}


_RETRYABLE_STATUS = frozenset({404, 502, 503, 504})  # 404: ingress/route not ready yet (token only)
_TRANSIENT_STATUS = frozenset({502, 503, 504})


def _q(segment: str) -> str:
    return quote(segment, safe="")


class PolarisClient:
    """A thin client over ``requests.Session`` for the endpoints the bootstrap needs.

    ``sleep`` and ``clock`` are injectable so tests can check the retry policy without waiting.
    """

    def __init__(
        self,
        config: PolarisConfig,
        *,
        session: requests.Session | None = None,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
        request_timeout: float = 10.0,
        echo: Echo = print,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.session = session or requests.Session()
        self.session.headers.update({"Polaris-Realm": config.realm, "Accept": "application/json"})
        self.wait_timeout = wait_timeout
        self.request_timeout = request_timeout
        self.echo = echo
        self._sleep = sleep
        self._clock = clock
        self._token: str | None = None

    # --- authentication ------------------------------------------------------------------------
    def authenticate(self) -> None:
        """OAuth2 client credentials, retried with backoff while Polaris starts."""
        url = self.config.token_uri
        data = {
            "grant_type": "client_credentials",
            "client_id": self.config.client_id,
            "client_secret": self.config.client_secret,
            "scope": self.config.scope,
        }
        deadline = self._clock() + self.wait_timeout
        delay, attempt = 1.0, 0
        while True:
            attempt += 1
            try:
                # No stale bearer token on the token request itself.
                response = self.session.post(
                    url, data=data, headers={"Authorization": None}, timeout=self.request_timeout
                )
            except requests.RequestException as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    token = (response.json() or {}).get("access_token")
                    if not token:
                        raise PolarisError(
                            f"POST {url} returned no access_token: {response.text[:200]}"
                        )
                    self._token = token
                    self.session.headers["Authorization"] = f"Bearer {token}"
                    if attempt > 1:
                        self.echo(f"polaris: answered after {attempt} attempts")
                    return
                if response.status_code in (400, 401, 403):
                    raise PolarisError(
                        f"POST {url} -> {response.status_code}: {_error_message(response)}. The root "
                        "credentials were rejected: check POLARIS_BOOTSTRAP_CLIENT_ID/SECRET against the "
                        f"Polaris bootstrap Secret and that realm {self.config.realm!r} (POLARIS_REALM) "
                        "is the realm they were bootstrapped in.",
                        response.status_code,
                    )
                if response.status_code not in _RETRYABLE_STATUS:
                    raise PolarisError(
                        f"POST {url} -> {response.status_code}: {_error_message(response)}",
                        response.status_code,
                    )
                problem = f"HTTP {response.status_code}"
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise PolarisUnavailableError(
                    f"Polaris did not issue a token at {url} within {self.wait_timeout:.0f}s "
                    f"({attempt} attempts; last: {problem}). Check that the Polaris pod is Ready "
                    "(kubectl get pods -l app.kubernetes.io/name=polaris), that POLARIS_TOKEN_URI "
                    "points at its service, and its logs; raise --wait-timeout for a slow start."
                )
            pause = min(delay, remaining)
            self.echo(
                f"polaris: waiting for {url} (attempt {attempt}: {problem}); retrying in {pause:.0f}s"
            )
            self._sleep(pause)
            delay = min(delay * 2, 10.0)

    # --- one request ---------------------------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
        accept: Iterable[int] = (),
        retry: bool = True,
    ) -> requests.Response:
        """Send one request; 2xx and the ``accept``-ed codes return, anything else raises.

        ``retry`` repeats transient failures (connection errors, 502-504) a few times; it is off
        for requests that are not safe to repeat (credential rotation).
        """
        if self._token is None:
            self.authenticate()
        accepted = set(accept)
        max_attempts = 4 if retry else 1
        attempt, reauthenticated = 0, False
        while True:
            attempt += 1
            try:
                response = self.session.request(
                    method, url, json=json_body, params=params, timeout=self.request_timeout
                )
            except requests.RequestException as exc:
                if attempt >= max_attempts:
                    raise PolarisUnavailableError(
                        f"{method} {url} failed: {exc}. Is Polaris still running?"
                    ) from exc
                self._sleep(attempt)
                continue
            if response.status_code == 401 and not reauthenticated:
                # The token expired (long runs or waits): get a new one, once.
                reauthenticated = True
                self.authenticate()
                continue
            if response.status_code in _TRANSIENT_STATUS and attempt < max_attempts:
                self._sleep(attempt)
                continue
            if response.ok or response.status_code in accepted:
                return response
            raise PolarisError(
                f"{method} {url} -> {response.status_code}: {_error_message(response)}"
                f"{_hint(response.status_code, url)}",
                response.status_code,
            )

    def _mgmt(self, *segments: str) -> str:
        return "/".join([self.config.management_uri, *(_q(s) for s in segments)])

    # --- catalogs ------------------------------------------------------------------------------
    def get_catalog(self, name: str) -> dict[str, Any] | None:
        response = self.request("GET", self._mgmt("catalogs", name), accept=(404,))
        return None if response.status_code == 404 else response.json()

    def create_catalog(self, catalog: Mapping[str, Any]) -> bool:
        """``False`` if it already existed (409)."""
        response = self.request(
            "POST", self._mgmt("catalogs"), json_body={"catalog": dict(catalog)}, accept=(409,)
        )
        return response.status_code != 409

    def update_catalog(self, name: str, update: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("PUT", self._mgmt("catalogs", name), json_body=dict(update)).json()

    # --- principals ----------------------------------------------------------------------------
    def list_principals(self) -> list[str]:
        body = self.request("GET", self._mgmt("principals")).json()
        return [p["name"] for p in body.get("principals", [])]

    def create_principal(self, name: str, properties: Mapping[str, str]) -> Credentials | None:
        """The new principal's credentials (shown only now), or ``None`` if it existed (409)."""
        response = self.request(
            "POST",
            self._mgmt("principals"),
            json_body={
                "principal": {"name": name, "properties": dict(properties)},
                "credentialRotationRequired": False,
            },
            accept=(409,),
            retry=False,  # a lost response would lose the credentials; the next run resets
        )
        if response.status_code == 409:
            return None
        return _credentials(response, f"POST {self._mgmt('principals')}")

    def reset_credentials(self, name: str) -> Credentials:
        """New random credentials for ``name`` (root only; the spec's ``resetCredentials``).

        An empty ``ResetPrincipalRequest`` lets Polaris generate both the client id and secret.
        """
        url = self._mgmt("principals", name, "reset")
        response = self.request("POST", url, json_body={}, retry=False)
        return _credentials(response, f"POST {url}")

    def list_principal_roles_assigned(self, principal: str) -> list[str]:
        body = self.request("GET", self._mgmt("principals", principal, "principal-roles")).json()
        return [r["name"] for r in body.get("roles", [])]

    def assign_principal_role(self, principal: str, principal_role: str) -> None:
        self.request(
            "PUT",
            self._mgmt("principals", principal, "principal-roles"),
            json_body={"principalRole": {"name": principal_role}},
        )

    # --- principal roles -----------------------------------------------------------------------
    def list_principal_roles(self) -> list[str]:
        body = self.request("GET", self._mgmt("principal-roles")).json()
        return [r["name"] for r in body.get("roles", [])]

    def create_principal_role(self, name: str, properties: Mapping[str, str]) -> bool:
        response = self.request(
            "POST",
            self._mgmt("principal-roles"),
            json_body={"principalRole": {"name": name, "properties": dict(properties)}},
            accept=(409,),
        )
        return response.status_code != 409

    def list_catalog_roles_for_principal_role(self, principal_role: str, catalog: str) -> list[str]:
        url = self._mgmt("principal-roles", principal_role, "catalog-roles", catalog)
        return [r["name"] for r in self.request("GET", url).json().get("roles", [])]

    def assign_catalog_role_to_principal_role(
        self, principal_role: str, catalog: str, catalog_role: str
    ) -> None:
        self.request(
            "PUT",
            self._mgmt("principal-roles", principal_role, "catalog-roles", catalog),
            json_body={"catalogRole": {"name": catalog_role}},
        )

    # --- catalog roles and grants --------------------------------------------------------------
    def list_catalog_roles(self, catalog: str) -> list[str]:
        body = self.request("GET", self._mgmt("catalogs", catalog, "catalog-roles")).json()
        return [r["name"] for r in body.get("roles", [])]

    def create_catalog_role(self, catalog: str, name: str, properties: Mapping[str, str]) -> bool:
        response = self.request(
            "POST",
            self._mgmt("catalogs", catalog, "catalog-roles"),
            json_body={"catalogRole": {"name": name, "properties": dict(properties)}},
            accept=(409,),
        )
        return response.status_code != 409

    def list_grants(self, catalog: str, catalog_role: str) -> list[dict[str, Any]]:
        url = self._mgmt("catalogs", catalog, "catalog-roles", catalog_role, "grants")
        return list(self.request("GET", url).json().get("grants", []))

    def add_grant(self, catalog: str, catalog_role: str, grant: Mapping[str, Any]) -> None:
        self.request(
            "PUT",
            self._mgmt("catalogs", catalog, "catalog-roles", catalog_role, "grants"),
            json_body={"grant": dict(grant)},
        )

    # --- Iceberg REST: namespaces --------------------------------------------------------------
    def catalog_prefix(self, catalog: str) -> str:
        """The URL prefix of ``catalog`` from ``GET /v1/config`` (Polaris: the catalog name)."""
        body = self.request(
            "GET", f"{self.config.catalog_uri}/v1/config", params={"warehouse": catalog}
        ).json()
        return str((body.get("overrides") or {}).get("prefix") or catalog)

    def list_namespaces(self, prefix: str) -> list[tuple[str, ...]]:
        url = f"{self.config.catalog_uri}/v1/{_q(prefix)}/namespaces"
        namespaces: list[tuple[str, ...]] = []
        params: dict[str, str] = {}
        while True:
            body = self.request("GET", url, params=params or None).json()
            namespaces.extend(tuple(ns) for ns in body.get("namespaces", []))
            token = body.get("next-page-token")
            if not token:
                return namespaces
            params = {"pageToken": token}

    def create_namespace(self, prefix: str, namespace: Sequence[str]) -> bool:
        response = self.request(
            "POST",
            f"{self.config.catalog_uri}/v1/{_q(prefix)}/namespaces",
            json_body={"namespace": list(namespace)},
            accept=(409,),
        )
        return response.status_code != 409

    # --- Polaris policy API (apache/polaris 1.7.0 spec/polaris-catalog-apis/policy-apis.yaml) ---
    def _policies(self, prefix: str, *segments: str) -> str:
        return "/".join([f"{self.config.catalog_uri}/polaris/v1", _q(prefix), *map(_q, segments)])

    def load_policy(self, prefix: str, namespace: str, name: str) -> dict[str, Any] | None:
        """The policy (``LoadPolicyResponse.policy``), or ``None`` if there is none (404)."""
        url = self._policies(prefix, "namespaces", namespace, "policies", name)
        response = self.request("GET", url, accept=(404,))
        return None if response.status_code == 404 else response.json()["policy"]

    def create_policy(self, prefix: str, namespace: str, policy: Mapping[str, Any]) -> bool:
        """``CreatePolicyRequest`` (name, type, description, content); ``False`` if it existed."""
        url = self._policies(prefix, "namespaces", namespace, "policies")
        response = self.request("POST", url, json_body=dict(policy), accept=(409,))
        return response.status_code != 409

    def update_policy(
        self, prefix: str, namespace: str, name: str, update: Mapping[str, Any]
    ) -> dict[str, Any]:
        """``UpdatePolicyRequest`` (description, content, current-policy-version)."""
        url = self._policies(prefix, "namespaces", namespace, "policies", name)
        return self.request("PUT", url, json_body=dict(update)).json()["policy"]

    def attach_policy(
        self, prefix: str, namespace: str, name: str, target: Mapping[str, Any]
    ) -> None:
        """``AttachPolicyRequest``: ``target`` is a ``PolicyAttachmentTarget`` (type, path).

        Attaching again to the same target only replaces the mapping's parameters (the spec).
        """
        url = self._policies(prefix, "namespaces", namespace, "policies", name, "mappings")
        self.request("PUT", url, json_body={"target": dict(target)})

    def applicable_policies(
        self, prefix: str, namespace: Sequence[str] = (), table: str | None = None
    ) -> list[dict[str, Any]]:
        """Policies in force on the catalog, a namespace or a table (inherited ones included)."""
        params: dict[str, str] = {}
        if namespace:
            params["namespace"] = "\x1f".join(namespace)  # the spec's multipart separator
        if table is not None:
            params["target-name"] = table
        url = self._policies(prefix, "applicable-policies")
        found: list[dict[str, Any]] = []
        while True:
            body = self.request("GET", url, params=params or None).json()
            found.extend(body.get("applicable-policies", []))
            token = body.get("next-page-token")
            if not token:
                return found
            params = {**params, "pageToken": token}


def _error_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300] or response.reason
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        for key in ("message", "error_description", "error"):
            if body.get(key):
                return str(body[key])
    return json.dumps(body)[:300]


def _hint(status: int, url: str = "") -> str:
    if url.endswith("/reset") and status in (400, 403):
        return (
            ". Resetting a principal's credentials needs Polaris' root principal and the feature "
            "flag ENABLE_CREDENTIAL_RESET (default true; see features: in values/polaris.yaml)."
        )
    if status == 403:
        return (
            ". The bootstrap principal lacks a privilege: it must be Polaris' root principal "
            "(principal role service_admin)."
        )
    if status == 400:
        return (
            ". Polaris rejected the request; check the storage settings (S3_ENDPOINT, "
            "POLARIS_STORAGE_BASE, AWS_REGION)."
        )
    return ""


def _credentials(response: requests.Response, what: str) -> Credentials:
    creds = (response.json() or {}).get("credentials") or {}
    if not creds.get("clientId") or not creds.get("clientSecret"):
        raise PolarisError(f"{what} returned no credentials (clientId/clientSecret)")
    return Credentials(client_id=creds["clientId"], client_secret=creds["clientSecret"])
