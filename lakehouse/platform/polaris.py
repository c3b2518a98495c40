"""Idempotent Polaris bootstrap through the management REST API.

Run as ``python -m lakehouse.platform.polaris bootstrap`` (a Kubernetes Job after the Polaris
chart, or ``make up``), or import :func:`bootstrap`. With the root principal's credentials it
makes the catalog service match :func:`default_plan`:

* the INTERNAL catalog ``lakehouse`` on S3 (MinIO), with credential vending OFF;
* the namespaces ``raw``, ``bronze``, ``silver``, ``gold`` (Iceberg REST API, as root);
* one principal per workload (``ingestion_writer``, ``dbt_transformer``, ``trino_reader``), a
  principal role of the same name assigned to it, and catalog roles per layer and access level
  (``raw_writer``, ``raw_reader``, ...) holding namespace grants;
* a Kubernetes Secret ``polaris-<principal>`` (keys ``client-id``, ``client-secret``) per principal.

Every step reads first and only creates what is missing, so a second run sends no request that
changes anything. Polaris returns a principal's secret only when it is created, rotated or reset:
if the principal exists but its Secret does not, its credentials are RESET
(``POST /principals/{name}/reset``) and the Secret is written. Not rotated: in Polaris 1.7.0
``rotate`` is a self-only operation that root cannot perform on another principal (403;
apache/polaris ``PolarisAdminService.isSelfOperation``, ``PolarisAuthorizerImpl``), while ``reset``
is root's (it needs the feature flag ``ENABLE_CREDENTIAL_RESET``, on by default).

Storage settings (names checked against ``spec/polaris-management-service.yml``,
``AwsStorageConfigInfo``): ``storageType: S3``, ``allowedLocations``, ``endpoint`` (what clients
are told), ``endpointInternal`` (what the Polaris server itself uses), ``pathStyleAccess: true``
(MinIO serves buckets by path), ``region``, and ``stsUnavailable: true``: MinIO has no STS
``AssumeRole``, so Polaris must not try to vend credentials. Every client (dlt, pyiceberg, Trino)
brings its own S3 keys, which is what ``lakehouse.catalog.catalog_properties`` configures. No
``roleArn`` is sent: it only makes sense with STS.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote

import requests

from lakehouse.layers import LAYERS, Layer
from lakehouse.settings import CATALOG_NAME, SettingsError

MANAGED_BY = "lakehouse-polaris-bootstrap"
DEFAULT_REALM = "POLARIS"
DEFAULT_SCOPE = "PRINCIPAL_ROLE:ALL"
DEFAULT_SECRETS_NAMESPACE = "lakehouse"
DEFAULT_WAIT_TIMEOUT = 180.0
TOKEN_PATH_SUFFIX = "/v1/oauth/tokens"

# --- privileges (NamespacePrivilege / CatalogPrivilege enums of the management spec) -----------
# A namespace grant also covers the tables and views inside the namespace.
WRITER_PRIVILEGES: tuple[str, ...] = (
    "NAMESPACE_FULL_METADATA",  # list/create/drop nested namespaces, read/write properties
    "TABLE_FULL_METADATA",  # create, drop, rename, list tables and evolve their metadata
    "VIEW_FULL_METADATA",  # dbt materializes bronze as views on Trino
    "TABLE_READ_DATA",
    "TABLE_WRITE_DATA",
)
READER_PRIVILEGES: tuple[str, ...] = (
    "NAMESPACE_LIST",
    "NAMESPACE_READ_PROPERTIES",
    "TABLE_LIST",
    "TABLE_READ_PROPERTIES",
    "TABLE_READ_DATA",
    "VIEW_LIST",
    "VIEW_READ_PROPERTIES",
)

Echo = Callable[[str], None]


# =============================================================================================
# Desired state
# =============================================================================================
@dataclass(frozen=True)
class GrantSpec:
    """One privilege on the catalog (``namespace=()``) or on one namespace."""

    privilege: str
    namespace: tuple[str, ...] = ()

    def body(self) -> dict[str, Any]:
        """The ``GrantResource`` (CatalogGrant / NamespaceGrant) of the management API."""
        if not self.namespace:
            return {"type": "catalog", "privilege": self.privilege}
        return {"type": "namespace", "namespace": list(self.namespace), "privilege": self.privilege}

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> GrantSpec | None:
        """Parse a listed grant; table/view/policy grants are not managed here (``None``)."""
        kind = body.get("type")
        if kind == "catalog":
            return cls(privilege=str(body.get("privilege")))
        if kind == "namespace":
            return cls(
                privilege=str(body.get("privilege")), namespace=tuple(body.get("namespace", ()))
            )
        return None

    def __str__(self) -> str:
        where = ".".join(self.namespace) if self.namespace else "<catalog>"
        return f"{self.privilege} on {where}"


@dataclass(frozen=True)
class CatalogRoleSpec:
    name: str
    description: str
    grants: tuple[GrantSpec, ...]


@dataclass(frozen=True)
class PrincipalSpec:
    """A workload identity; its principal role has the same name."""

    name: str
    description: str
    catalog_roles: tuple[str, ...]

    @property
    def principal_role(self) -> str:
        return self.name

    @property
    def secret_name(self) -> str:
        # Kubernetes object names are DNS-1123 subdomains: no underscores.
        return f"polaris-{self.name.replace('_', '-')}"


@dataclass(frozen=True)
class Plan:
    catalog: str
    namespaces: tuple[str, ...]
    catalog_roles: tuple[CatalogRoleSpec, ...]
    principals: tuple[PrincipalSpec, ...]


def _writer(layer: Layer) -> CatalogRoleSpec:
    return CatalogRoleSpec(
        name=f"{layer.value}_writer",
        description=f"create, change, drop and write tables/views in namespace {layer.value}",
        grants=tuple(GrantSpec(p, (layer.value,)) for p in WRITER_PRIVILEGES),
    )


def _reader(layer: Layer) -> CatalogRoleSpec:
    return CatalogRoleSpec(
        name=f"{layer.value}_reader",
        description=f"list and read tables/views in namespace {layer.value}",
        grants=tuple(GrantSpec(p, (layer.value,)) for p in READER_PRIVILEGES),
    )


def default_plan(catalog: str = CATALOG_NAME) -> Plan:
    """The catalog, namespaces, roles and grants of the lakehouse (least privilege per workload)."""
    browser = CatalogRoleSpec(
        name="catalog_browser",
        description="list the top-level namespaces (Trino SHOW SCHEMAS, dbt, dlt)",
        grants=(GrantSpec("NAMESPACE_LIST"),),
    )
    creator = CatalogRoleSpec(
        name="namespace_creator",
        description="create top-level namespaces (dbt creates its schemas if missing)",
        grants=(GrantSpec("NAMESPACE_CREATE"),),
    )
    roles = (
        browser,
        creator,
        *(_writer(layer) for layer in LAYERS),
        *(_reader(layer) for layer in LAYERS),
    )
    transformed = [layer for layer in LAYERS if layer is not Layer.RAW]
    principals = (
        PrincipalSpec(
            name="ingestion_writer",
            description="dlt ingestion: lands source data in raw",
            catalog_roles=("catalog_browser", "raw_writer"),
        ),
        PrincipalSpec(
            name="dbt_transformer",
            description="dbt (through Trino): reads raw, builds bronze/silver/gold",
            catalog_roles=(
                "catalog_browser",
                "namespace_creator",
                "raw_reader",
                *(f"{layer.value}_writer" for layer in transformed),
            ),
        ),
        PrincipalSpec(
            name="trino_reader",
            description="read-only queries over every layer",
            catalog_roles=("catalog_browser", *(f"{layer.value}_reader" for layer in LAYERS)),
        ),
    )
    return Plan(
        catalog=catalog,
        namespaces=tuple(layer.value for layer in LAYERS),
        catalog_roles=roles,
        principals=principals,
    )


@dataclass(frozen=True)
class StorageSpec:
    """Where the catalog keeps its tables and how Polaris and clients reach the S3 store."""

    base_location: str
    endpoint: str  # told to clients
    endpoint_internal: str  # used by the Polaris server
    region: str
    path_style_access: bool = True

    def storage_config_info(self) -> dict[str, Any]:
        """``AwsStorageConfigInfo`` for an S3-compatible store without STS (no vending)."""
        return {
            "storageType": "S3",
            "allowedLocations": [self.base_location],
            "endpoint": self.endpoint,
            "endpointInternal": self.endpoint_internal,
            "pathStyleAccess": self.path_style_access,
            "region": self.region,
            "stsUnavailable": True,
        }

    def catalog_properties(self) -> dict[str, str]:
        return {"default-base-location": self.base_location}


# =============================================================================================
# Configuration from the environment
# =============================================================================================
@dataclass(frozen=True)
class PolarisConfig:
    """How to reach Polaris and who we are (the root principal)."""

    management_uri: str  # http://polaris:8181/api/management/v1
    catalog_uri: str  # http://polaris:8181/api/catalog (Iceberg REST base)
    token_uri: str  # http://polaris:8181/api/catalog/v1/oauth/tokens
    client_id: str
    client_secret: str = field(repr=False)
    realm: str = DEFAULT_REALM
    scope: str = DEFAULT_SCOPE


@dataclass(frozen=True)
class BootstrapSettings:
    polaris: PolarisConfig
    storage: StorageSpec
    catalog: str

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, require_credentials: bool = True
    ) -> BootstrapSettings:
        """Read the variables the bootstrap Job gets; a missing one raises SettingsError naming it.

        ``require_credentials=False`` (print-only) accepts missing root credentials.
        """
        env = os.environ if env is None else env

        def get(name: str, default: str | None = None, *, required: bool = True) -> str:
            value = env.get(name, "").strip() or (default or "")
            if not value and required:
                raise SettingsError(
                    f"{name} is not set but the Polaris bootstrap needs it "
                    f"({_ENV_HELP.get(name, 'see lakehouse/platform/polaris.py')})."
                )
            return value

        management_uri = get("POLARIS_MANAGEMENT_URI").rstrip("/")
        token_uri = get("POLARIS_TOKEN_URI").rstrip("/")
        catalog_uri = env.get("POLARIS_CATALOG_URI", "").strip().rstrip("/")
        if not catalog_uri:
            if not token_uri.endswith(TOKEN_PATH_SUFFIX):
                raise SettingsError(
                    f"POLARIS_CATALOG_URI is not set and cannot be derived from POLARIS_TOKEN_URI="
                    f"{token_uri!r} (expected it to end in {TOKEN_PATH_SUFFIX}); set it, e.g. "
                    "http://polaris:8181/api/catalog."
                )
            catalog_uri = token_uri[: -len(TOKEN_PATH_SUFFIX)]
        s3_endpoint = get("S3_ENDPOINT")
        return cls(
            polaris=PolarisConfig(
                management_uri=management_uri,
                catalog_uri=catalog_uri,
                token_uri=token_uri,
                client_id=get("POLARIS_BOOTSTRAP_CLIENT_ID", required=require_credentials),
                client_secret=get("POLARIS_BOOTSTRAP_CLIENT_SECRET", required=require_credentials),
                realm=get("POLARIS_REALM", DEFAULT_REALM),
                scope=get("POLARIS_SCOPE", DEFAULT_SCOPE),
            ),
            storage=StorageSpec(
                base_location=get("POLARIS_STORAGE_BASE", "s3://lakehouse/warehouse").rstrip("/"),
                endpoint=get("POLARIS_S3_CLIENT_ENDPOINT", s3_endpoint),
                endpoint_internal=s3_endpoint,
                region=get("AWS_REGION", "us-east-1"),
                path_style_access=env.get("S3_PATH_STYLE_ACCESS", "true").strip().lower()
                in {"1", "true", "yes", "on"},
            ),
            catalog=get("POLARIS_CATALOG", CATALOG_NAME),
        )


_ENV_HELP = {
    "POLARIS_MANAGEMENT_URI": "e.g. http://polaris:8181/api/management/v1",
    "POLARIS_TOKEN_URI": "e.g. http://polaris:8181/api/catalog/v1/oauth/tokens",
    "POLARIS_BOOTSTRAP_CLIENT_ID": "the root principal's client id, from the Polaris bootstrap Secret",
    "POLARIS_BOOTSTRAP_CLIENT_SECRET": "the root principal's secret, from the Polaris bootstrap Secret",
    "S3_ENDPOINT": "the S3 endpoint Polaris reaches MinIO at, e.g. http://minio:9000",
}


# =============================================================================================
# Errors
# =============================================================================================
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


# =============================================================================================
# The REST client: one method per management resource
# =============================================================================================
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


# =============================================================================================
# Where principal credentials go
# =============================================================================================
class SecretStore(Protocol):
    """Where principal credentials are kept (Kubernetes Secrets; a dict in tests)."""

    def has(self, name: str) -> bool:
        """True if the secret exists and holds both ``client-id`` and ``client-secret``."""
        ...

    def put(self, name: str, data: Mapping[str, str]) -> None:
        """Create or replace the secret."""
        ...

    def describe(self, name: str) -> str: ...


class MemorySecretStore:
    """Secrets in a dict: for tests, and to hand credentials to a caller in-process."""

    def __init__(self, initial: Mapping[str, Mapping[str, str]] | None = None) -> None:
        self.secrets: dict[str, dict[str, str]] = {k: dict(v) for k, v in (initial or {}).items()}

    def has(self, name: str) -> bool:
        data = self.secrets.get(name, {})
        return bool(data.get("client-id") and data.get("client-secret"))

    def put(self, name: str, data: Mapping[str, str]) -> None:
        self.secrets[name] = dict(data)

    def describe(self, name: str) -> str:
        return f"secret {name}"


class KubernetesSecretStore:
    """Opaque Secrets in one namespace, through the ``kubernetes`` client.

    In a pod it uses the service account (in-cluster config); elsewhere the kubeconfig. The Job's
    service account needs get, create and patch on ``secrets`` in that namespace.
    """

    def __init__(self, namespace: str, api: Any = None) -> None:
        self.namespace = namespace
        self._api = api

    @property
    def api(self) -> Any:
        if self._api is None:
            from kubernetes import client, config

            try:
                config.load_incluster_config()
            except config.ConfigException:
                try:
                    config.load_kube_config()
                except config.ConfigException as exc:
                    raise PolarisError(
                        "no Kubernetes configuration: not in a pod and no kubeconfig "
                        f"({exc}). Run inside the cluster, set KUBECONFIG, or use --print-only."
                    ) from exc
            self._api = client.CoreV1Api()
        return self._api

    def has(self, name: str) -> bool:
        from kubernetes.client.exceptions import ApiException

        try:
            secret = self.api.read_namespaced_secret(name, self.namespace)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise PolarisError(_k8s_error("read", self.describe(name), exc)) from exc
        data = secret.data or {}
        return bool(data.get("client-id") and data.get("client-secret"))

    def put(self, name: str, data: Mapping[str, str]) -> None:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        body = client.V1Secret(
            api_version="v1",
            kind="Secret",
            type="Opaque",
            metadata=client.V1ObjectMeta(
                name=name,
                namespace=self.namespace,
                labels={
                    "app.kubernetes.io/managed-by": MANAGED_BY,
                    "app.kubernetes.io/part-of": "lakehouse",
                },
            ),
            string_data=dict(data),
        )
        try:
            self.api.create_namespaced_secret(self.namespace, body)
        except ApiException as exc:
            if exc.status != 409:
                raise PolarisError(_k8s_error("create", self.describe(name), exc)) from exc
            try:
                # patch (not replace/update): the bootstrap Job's Role grants get/patch/create.
                self.api.patch_namespaced_secret(name, self.namespace, body)
            except ApiException as exc2:
                raise PolarisError(_k8s_error("patch", self.describe(name), exc2)) from exc2

    def describe(self, name: str) -> str:
        return f"Secret {self.namespace}/{name}"


def _k8s_error(verb: str, what: str, exc: Any) -> str:
    hint = (
        " The service account needs get, create and patch on secrets in this namespace (a Role "
        "+ RoleBinding)."
        if getattr(exc, "status", None) == 403
        else ""
    )
    return f"could not {verb} {what}: HTTP {getattr(exc, 'status', '?')} {getattr(exc, 'reason', exc)}.{hint}"


# =============================================================================================
# The plan, applied
# =============================================================================================
@dataclass
class BootstrapReport:
    changes: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


class _Run:
    def __init__(self, echo: Echo) -> None:
        self.echo = echo
        self.report = BootstrapReport()

    def created(self, what: str) -> None:
        self.report.changes.append(what)
        self.echo(f"  + {what}")

    def kept(self, what: str) -> None:
        self.report.unchanged.append(what)
        self.echo(f"  = {what}")


def bootstrap(
    client: PolarisClient,
    storage: StorageSpec,
    secrets: SecretStore,
    plan: Plan | None = None,
    *,
    echo: Echo = print,
) -> BootstrapReport:
    """Make Polaris match ``plan``; create only what is missing. Returns what changed."""
    plan = plan or default_plan()
    run = _Run(echo)
    # Read the Secrets first: a store we cannot reach fails the run before Polaris changes.
    echo("polaris: checking the principals' Secrets")
    has_secret = {p.name: secrets.has(p.secret_name) for p in plan.principals}
    echo(f"polaris: authenticating at {client.config.token_uri} (realm {client.config.realm})")
    client.authenticate()

    echo(f"polaris: catalog {plan.catalog}")
    _ensure_catalog(client, plan.catalog, storage, run)

    echo("polaris: namespaces")
    prefix = client.catalog_prefix(plan.catalog)
    existing_ns = set(client.list_namespaces(prefix))
    for name in plan.namespaces:
        if (name,) in existing_ns:
            run.kept(f"namespace {name}")
        elif client.create_namespace(prefix, [name]):
            run.created(f"namespace {name}")
        else:
            run.kept(f"namespace {name} (created concurrently)")

    echo("polaris: principal roles")
    existing_pr = set(client.list_principal_roles())
    for principal in plan.principals:
        label = f"principal role {principal.principal_role}"
        if principal.principal_role in existing_pr:
            run.kept(label)
        elif client.create_principal_role(principal.principal_role, _props(principal.description)):
            run.created(label)
        else:
            run.kept(label)

    echo("polaris: principals and their credentials")
    existing_principals = set(client.list_principals())
    for principal in plan.principals:
        _ensure_principal(
            client,
            principal,
            exists=principal.name in existing_principals,
            has_secret=has_secret[principal.name],
            secrets=secrets,
            run=run,
        )

    echo("polaris: principal role assignments")
    for principal in plan.principals:
        assigned = set(client.list_principal_roles_assigned(principal.name))
        label = f"principal {principal.name} has principal role {principal.principal_role}"
        if principal.principal_role in assigned:
            run.kept(label)
        else:
            client.assign_principal_role(principal.name, principal.principal_role)
            run.created(label)

    echo("polaris: catalog roles and grants")
    existing_cr = set(client.list_catalog_roles(plan.catalog))
    for role in plan.catalog_roles:
        label = f"catalog role {role.name}"
        if role.name in existing_cr:
            run.kept(label)
        elif client.create_catalog_role(plan.catalog, role.name, _props(role.description)):
            run.created(label)
        else:
            run.kept(label)
    for role in plan.catalog_roles:
        held = {
            grant
            for grant in map(GrantSpec.from_body, client.list_grants(plan.catalog, role.name))
            if grant is not None
        }
        for grant in role.grants:
            label = f"catalog role {role.name}: {grant}"
            if grant in held:
                run.kept(label)
            else:
                client.add_grant(plan.catalog, role.name, grant.body())
                run.created(label)

    echo("polaris: catalog roles of each principal role")
    for principal in plan.principals:
        mapped = set(
            client.list_catalog_roles_for_principal_role(principal.principal_role, plan.catalog)
        )
        for catalog_role in principal.catalog_roles:
            label = f"principal role {principal.principal_role} has catalog role {catalog_role}"
            if catalog_role in mapped:
                run.kept(label)
            else:
                client.assign_catalog_role_to_principal_role(
                    principal.principal_role, plan.catalog, catalog_role
                )
                run.created(label)

    summary = f"{len(run.report.changes)} change(s)" if run.report.changed else "nothing to change"
    echo(f"polaris: done, {summary}")
    return run.report


def _props(description: str) -> dict[str, str]:
    return {"purpose": description, "managed-by": MANAGED_BY}


def _ensure_catalog(client: PolarisClient, name: str, storage: StorageSpec, run: _Run) -> None:
    desired_storage = storage.storage_config_info()
    desired_props = storage.catalog_properties()
    current = client.get_catalog(name)
    if current is None:
        catalog = {
            "type": "INTERNAL",
            "name": name,
            "properties": desired_props,
            "storageConfigInfo": desired_storage,
        }
        if client.create_catalog(catalog):
            run.created(f"catalog {name} (S3 {storage.base_location}, credential vending off)")
            return
        current = client.get_catalog(name)
        if current is None:
            raise PolarisError(f"catalog {name} was reported as existing (409) but cannot be read")
    drift = _catalog_drift(current, desired_storage, desired_props)
    if not drift:
        run.kept(f"catalog {name}")
        return
    update = {
        "currentEntityVersion": current.get("entityVersion"),
        "properties": {**(current.get("properties") or {}), **desired_props},
        "storageConfigInfo": {**(current.get("storageConfigInfo") or {}), **desired_storage},
    }
    client.update_catalog(name, update)
    run.created(f"catalog {name} updated ({', '.join(drift)})")


def _catalog_drift(
    current: Mapping[str, Any], storage: Mapping[str, Any], props: Mapping[str, str]
) -> list[str]:
    """Names of the managed settings whose current value differs from the desired one."""

    def norm(value: Any) -> Any:
        return value.rstrip("/") if isinstance(value, str) else value

    drift = []
    actual_storage = current.get("storageConfigInfo") or {}
    for key, want in storage.items():
        have = actual_storage.get(key)
        if key == "allowedLocations":
            if not {norm(x) for x in want} <= {norm(x) for x in have or []}:
                drift.append(key)
        elif norm(have) != norm(want):
            drift.append(key)
    actual_props = current.get("properties") or {}
    drift.extend(key for key, want in props.items() if norm(actual_props.get(key)) != norm(want))
    return drift


def _ensure_principal(
    client: PolarisClient,
    principal: PrincipalSpec,
    *,
    exists: bool,
    has_secret: bool,
    secrets: SecretStore,
    run: _Run,
) -> None:
    where = secrets.describe(principal.secret_name)
    if not exists:
        credentials = client.create_principal(principal.name, _props(principal.description))
        if credentials is not None:
            run.created(f"principal {principal.name}")
            _write_secret(secrets, principal, credentials, run)
            return
        # Created concurrently (409): fall through to the Secret check.
    if has_secret:
        run.kept(f"principal {principal.name} ({where} present)")
        return
    # The secret is shown only at creation: without it the workload cannot log in. Reset (root's
    # operation; rotate is self-only in Polaris 1.7.0 and answers 403 to root).
    credentials = client.reset_credentials(principal.name)
    run.created(f"principal {principal.name}: credentials reset ({where} was missing)")
    _write_secret(secrets, principal, credentials, run)


def _write_secret(
    secrets: SecretStore, principal: PrincipalSpec, credentials: Credentials, run: _Run
) -> None:
    try:
        secrets.put(principal.secret_name, credentials.secret_data())
    except Exception as exc:
        raise PolarisError(
            f"principal {principal.name} has new credentials but writing "
            f"{secrets.describe(principal.secret_name)} failed: {exc}. Fix that and re-run: the "
            "bootstrap resets the credentials of a principal whose Secret is missing."
        ) from exc
    run.created(f"{secrets.describe(principal.secret_name)} written")


# =============================================================================================
# Print-only
# =============================================================================================
def describe_plan(settings: BootstrapSettings, plan: Plan, secrets_namespace: str) -> str:
    """The desired state, for ``--print-only`` (no Polaris, no cluster needed)."""
    lines = [
        f"Polaris {settings.polaris.management_uri} (realm {settings.polaris.realm}); "
        f"token from {settings.polaris.token_uri}",
        f"catalog {plan.catalog} (INTERNAL)",
        f"  properties: {json.dumps(settings.storage.catalog_properties(), sort_keys=True)}",
        f"  storageConfigInfo: {json.dumps(settings.storage.storage_config_info(), sort_keys=True)}",
        f"namespaces (Iceberg REST {settings.polaris.catalog_uri}): {', '.join(plan.namespaces)}",
        "catalog roles:",
    ]
    for role in plan.catalog_roles:
        lines.append(f"  {role.name}: {role.description}")
        lines.extend(f"    grant {grant}" for grant in role.grants)
    lines.append("principals (principal role of the same name):")
    for principal in plan.principals:
        lines.append(f"  {principal.name}: {principal.description}")
        lines.append(f"    catalog roles: {', '.join(principal.catalog_roles)}")
        lines.append(
            f"    credentials -> Secret {secrets_namespace}/{principal.secret_name} "
            "(keys client-id, client-secret)"
        )
    lines.append(
        "Each item is created only if missing; a principal whose Secret is missing gets its "
        "credentials reset (POST /principals/{name}/reset, as root)."
    )
    return "\n".join(lines)


# =============================================================================================
# CLI
# =============================================================================================
def main(
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    secrets: SecretStore | None = None,
) -> int:
    """The CLI; ``env`` and ``secrets`` (default: Kubernetes Secrets) are for tests."""
    parser = argparse.ArgumentParser(
        prog="python -m lakehouse.platform.polaris",
        description="Idempotently bootstrap the Polaris catalog, principals, roles and grants.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    boot = sub.add_parser("bootstrap", help="create whatever is missing (safe to re-run)")
    boot.add_argument(
        "--secrets-namespace",
        default=(
            (env or os.environ).get("POLARIS_SECRETS_NAMESPACE")
            or (env or os.environ).get("POD_NAMESPACE")
            or DEFAULT_SECRETS_NAMESPACE
        ),
        help="Kubernetes namespace of the polaris-<principal> Secrets (default: "
        "$POLARIS_SECRETS_NAMESPACE, else the Job's $POD_NAMESPACE, else %(default)s)",
    )
    boot.add_argument(
        "--print-only",
        "--dry-run",
        dest="print_only",
        action="store_true",
        help="print the desired state and exit; contacts neither Polaris nor Kubernetes",
    )
    boot.add_argument(
        "--wait-timeout",
        type=float,
        default=DEFAULT_WAIT_TIMEOUT,
        help="seconds to wait for Polaris to issue a token (default: %(default)s)",
    )
    args = parser.parse_args(argv)

    try:
        settings = BootstrapSettings.from_env(env, require_credentials=not args.print_only)
        plan = default_plan(settings.catalog)
        if args.print_only:
            print(describe_plan(settings, plan, args.secrets_namespace))
            return 0
        client = PolarisClient(settings.polaris, wait_timeout=args.wait_timeout)
        store = secrets or KubernetesSecretStore(args.secrets_namespace)
        bootstrap(client, settings.storage, store, plan)
    except (SettingsError, PolarisError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
