"""Test doubles for the Polaris bootstrap: a fake Polaris over real HTTP, and the API contract.

* :class:`FakePolaris` is a real HTTP server on 127.0.0.1 (``http.server`` in a thread) with
  in-memory state, answering the management API and the Iceberg REST calls the bootstrap makes
  the way Polaris does (404 for unknown entities, 409 for duplicates, credentials only on create,
  rotate and reset, a ``catalog_admin`` role in every new catalog). It records every request.
  Authorization follows Polaris 1.7.0 where the bootstrap depends on it: ``rotate`` is a self-only
  operation that even root cannot perform on another principal (403; apache/polaris
  ``runtime/service/.../admin/PolarisAdminService.java``: ``isSelfOperation`` admits only the
  principal itself, and ``polaris-core/.../auth/PolarisAuthorizerImpl.java`` lets
  PRINCIPAL_ROTATE_CREDENTIALS be implied by nothing else; the integration test
  ``PolarisManagementServiceIntegrationTest`` expects FORBIDDEN for the admin's rotate), while
  ``reset`` is allowed to the root principal only (``PolarisAuthorizerImpl.authorizeOrThrow``:
  "Only Root principal(service-admin) can perform RESET_CREDENTIALS") and only while the feature
  flag ``ENABLE_CREDENTIAL_RESET`` (default true) is on.
* :class:`OpenApiContract` checks a recorded request against the OpenAPI specifications in
  ``<repo>/../shared/specs``: the path and method exist, query parameters are declared, and the
  body validates against the request schema, following ``discriminator`` mappings and rejecting
  properties the schema does not declare (the specs allow unknown properties, so a misspelt
  field such as ``stsUnavaliable`` would otherwise pass silently).

Imported by the test modules that use it; not a conftest (its fixtures are imported explicitly).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest

from lakehouse.paths import REPO_ROOT
from tests.infrastructure.polaris_policies import SUPER_PRIVILEGES, PolicyApiContract, policy_api

SPECS_DIR = REPO_ROOT.parent / "shared" / "specs"
MANAGEMENT_SPEC = SPECS_DIR / "polaris-management-service.yml"
ICEBERG_SPEC = SPECS_DIR / "iceberg-rest-catalog-open-api.yaml"
MANAGEMENT_BASE = "/api/management/v1"
CATALOG_BASE = "/api/catalog"

ROOT_ID, ROOT_SECRET, REALM = "root", "s3cr3t", "POLARIS"


# =============================================================================================
# Fake Polaris
# =============================================================================================
def bootstrap_env(url: str, **overrides: str) -> dict[str, str]:
    """The bootstrap's environment for a Polaris at ``url`` (scheme://host:port)."""
    return {
        "POLARIS_MANAGEMENT_URI": f"{url}{MANAGEMENT_BASE}",
        "POLARIS_TOKEN_URI": f"{url}{CATALOG_BASE}/v1/oauth/tokens",
        "POLARIS_BOOTSTRAP_CLIENT_ID": ROOT_ID,
        "POLARIS_BOOTSTRAP_CLIENT_SECRET": ROOT_SECRET,
        "POLARIS_REALM": REALM,
        "POLARIS_CATALOG": "lakehouse",
        "POLARIS_STORAGE_BASE": "s3://lakehouse/warehouse",
        "S3_ENDPOINT": "http://minio:9000",
        "AWS_REGION": "us-east-1",
        **overrides,
    }


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any  # parsed JSON, a dict for form bodies, or None
    content_type: str
    headers: dict[str, str]

    @property
    def target(self) -> str:
        """Path plus query string, as sent."""
        query = "&".join(f"{k}={v}" for k, v in sorted(self.query.items()))
        return f"{self.path}?{query}" if query else self.path


class _Reply(Exception):
    def __init__(self, status: int, body: Any = None) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def _error(status: int, message: str, kind: str) -> _Reply:
    return _Reply(status, {"error": {"message": message, "type": kind, "code": status}})


class FakePolaris:
    """In-memory Polaris behind a real HTTP server; see the module docstring."""

    def __init__(
        self, *, failing_token_requests: int = 0, credential_reset_enabled: bool = True
    ) -> None:
        self.requests: list[Recorded] = []
        self.failing_token_requests = failing_token_requests
        self.credential_reset_enabled = credential_reset_enabled
        self._caller = ""
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.tokens: dict[str, str] = {}  # token -> principal name
        self.catalogs: dict[str, dict[str, Any]] = {}
        self.namespaces: dict[str, list[list[str]]] = {}
        self.principals: dict[str, dict[str, Any]] = {
            ROOT_ID: {"name": "root", "clientId": ROOT_ID, "secret": ROOT_SECRET, "properties": {}}
        }
        self.principal_roles: dict[str, dict[str, Any]] = {
            "service_admin": {"name": "service_admin"}
        }
        self.principal_assignments: dict[str, list[str]] = {"root": ["service_admin"]}
        self.catalog_roles: dict[str, dict[str, dict[str, Any]]] = {}
        self.grants: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.catalog_role_assignments: dict[tuple[str, str], list[str]] = {}
        self.policies: dict[tuple[str, str, str], dict[str, Any]] = {}  # (catalog, ns, name)
        # (catalog, target path) -> attached (namespace, name); () is the catalog itself
        self.policy_mappings: dict[tuple[str, tuple[str, ...]], list[tuple[str, str]]] = {}
        self.tables: dict[tuple[str, str], set[str]] = {}  # (catalog, namespace) -> tables
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    # --- lifecycle -----------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakePolaris:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def env(self, **overrides: str) -> dict[str, str]:
        """The bootstrap's environment, pointing at this server."""
        return bootstrap_env(self.url, **overrides)

    def snapshot(self) -> str:
        """Everything the server holds, as canonical JSON (to compare runs)."""
        with self._lock:
            state = {
                "catalogs": self.catalogs,
                "namespaces": self.namespaces,
                "principals": self.principals,
                "principal_roles": self.principal_roles,
                "principal_assignments": self.principal_assignments,
                "catalog_roles": self.catalog_roles,
                "grants": {"/".join(k): v for k, v in self.grants.items()},
                "catalog_role_assignments": {
                    "/".join(k): v for k, v in self.catalog_role_assignments.items()
                },
                "policies": {"/".join(k): v for k, v in self.policies.items()},
                "policy_mappings": {
                    "/".join((k[0], *k[1])): v for k, v in self.policy_mappings.items()
                },
            }
            return json.dumps(state, sort_keys=True)

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # --- HTTP plumbing -------------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in separate writes

            def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
                pass

            def _serve(self) -> None:
                split = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                if not raw:
                    body: Any = None
                elif content_type == "application/x-www-form-urlencoded":
                    body = dict(parse_qsl(raw.decode()))
                else:
                    body = json.loads(raw)
                record = Recorded(
                    method=self.command,
                    path=split.path,
                    query=dict(parse_qsl(split.query)),
                    body=body,
                    content_type=content_type,
                    headers={k.lower(): v for k, v in self.headers.items()},
                )
                with fake._lock:
                    fake.requests.append(record)
                    try:
                        status, payload = fake._dispatch(record)
                    except _Reply as reply:
                        status, payload = reply.status, reply.body
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _serve

        return Handler

    # --- the API -------------------------------------------------------------------------------
    def _dispatch(self, r: Recorded) -> tuple[int, Any]:
        if r.headers.get("polaris-realm") != REALM:
            raise _error(401, "missing or unknown realm (Polaris-Realm header)", "NotAuthorized")
        if r.path == f"{CATALOG_BASE}/v1/oauth/tokens" and r.method == "POST":
            return self._token(r)
        token = r.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            raise _error(401, "invalid or missing bearer token", "NotAuthorizedException")
        self._caller = self.tokens[token]
        if r.path.startswith(MANAGEMENT_BASE + "/"):
            return self._management(r, r.path[len(MANAGEMENT_BASE) :])
        if r.path.startswith(CATALOG_BASE + "/"):
            return self._iceberg(r, r.path[len(CATALOG_BASE) :])
        raise _error(404, f"no route {r.path}", "NotFound")

    def _token(self, r: Recorded) -> tuple[int, Any]:
        if self.failing_token_requests > 0:
            self.failing_token_requests -= 1
            raise _error(503, "starting", "ServiceUnavailable")
        form = r.body or {}
        match = [
            p
            for p in self.principals.values()
            if p["clientId"] == form.get("client_id") and p["secret"] == form.get("client_secret")
        ]
        if form.get("grant_type") != "client_credentials" or not match:
            raise _Reply(
                401, {"error": "unauthorized_client", "error_description": "bad credentials"}
            )
        token = f"token-{next(self._ids)}"
        self.tokens[token] = match[0]["name"]
        return 200, {"access_token": token, "token_type": "bearer", "expires_in": 3600}

    def _management(self, r: Recorded, path: str) -> tuple[int, Any]:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        m, body = r.method, r.body or {}
        match parts:
            case ["catalogs"] if m == "GET":
                return 200, {"catalogs": list(self.catalogs.values())}
            case ["catalogs"] if m == "POST":
                catalog = dict(body["catalog"])
                if catalog["name"] in self.catalogs:
                    raise _error(409, "catalog exists", "AlreadyExistsException")
                catalog.update(entityVersion=1, createTimestamp=1)
                self.catalogs[catalog["name"]] = catalog
                self.namespaces[catalog["name"]] = []
                self.catalog_roles[catalog["name"]] = {"catalog_admin": {"name": "catalog_admin"}}
                self.catalog_role_assignments[("service_admin", catalog["name"])] = [
                    "catalog_admin"
                ]
                return 201, catalog
            case ["catalogs", name] if m == "GET":
                return 200, self._catalog(name)
            case ["catalogs", name] if m == "PUT":
                catalog = self._catalog(name)
                if body.get("currentEntityVersion") != catalog["entityVersion"]:
                    raise _error(409, "entity version mismatch", "CommitConflict")
                catalog["properties"] = body.get("properties", catalog["properties"])
                catalog["storageConfigInfo"] = body.get(
                    "storageConfigInfo", catalog["storageConfigInfo"]
                )
                catalog["entityVersion"] += 1
                return 200, catalog
            case ["principals"] if m == "GET":
                return 200, {"principals": [self._principal_view(p) for p in self.principals]}
            case ["principals"] if m == "POST":
                name = body["principal"]["name"]
                if name in self.principals:
                    raise _error(409, "principal exists", "AlreadyExistsException")
                self.principals[name] = {
                    "name": name,
                    "properties": body["principal"].get("properties", {}),
                    **self._new_credentials(),
                }
                self.principal_assignments[name] = []
                return 201, self._with_credentials(name)
            case ["principals", name, "rotate"] if m == "POST":
                self._principal(name)
                if self._caller != name:  # self-only, even for root (see the module docstring)
                    raise _error(
                        403,
                        f"Principal '{self._caller}' with activated PrincipalRoles "
                        f"'[service_admin]' is not authorized for op ROTATE_CREDENTIALS",
                        "ForbiddenException",
                    )
                self._principal(name).update(self._new_credentials())
                return 200, self._with_credentials(name)
            case ["principals", name, "reset"] if m == "POST":
                if not self.credential_reset_enabled:
                    raise _error(
                        400,
                        "Feature not enabled: ENABLE_CREDENTIAL_RESET",
                        "UnsupportedOperationException",
                    )
                self._principal(name)
                if self._caller != "root":
                    raise _error(
                        403,
                        "Only Root principal(service-admin) can perform RESET_CREDENTIALS",
                        "ForbiddenException",
                    )
                custom = {k: v for k, v in body.items() if v is not None}
                new = self._new_credentials()
                if "clientId" in custom:
                    new["clientId"] = custom["clientId"]
                if "clientSecret" in custom:
                    new["secret"] = custom["clientSecret"]
                self._principal(name).update(new)
                return 200, self._with_credentials(name)
            case ["principals", name, "principal-roles"] if m == "GET":
                self._principal(name)
                roles = self.principal_assignments.get(name, [])
                return 200, {"roles": [self.principal_roles[n] for n in roles]}
            case ["principals", name, "principal-roles"] if m == "PUT":
                self._principal(name)
                role = body["principalRole"]["name"]
                self._exists(self.principal_roles, role, "principal role")
                if role not in self.principal_assignments[name]:
                    self.principal_assignments[name].append(role)
                return 201, None
            case ["principal-roles"] if m == "GET":
                return 200, {"roles": list(self.principal_roles.values())}
            case ["principal-roles"] if m == "POST":
                role = dict(body["principalRole"])
                if role["name"] in self.principal_roles:
                    raise _error(409, "principal role exists", "AlreadyExistsException")
                self.principal_roles[role["name"]] = role
                return 201, role
            case ["principal-roles", role, "catalog-roles", catalog] if m in ("GET", "PUT"):
                self._exists(self.principal_roles, role, "principal role")
                self._catalog(catalog)
                assigned = self.catalog_role_assignments.setdefault((role, catalog), [])
                if m == "GET":
                    return 200, {"roles": [self.catalog_roles[catalog][n] for n in assigned]}
                catalog_role = body["catalogRole"]["name"]
                self._exists(self.catalog_roles[catalog], catalog_role, "catalog role")
                if catalog_role not in assigned:
                    assigned.append(catalog_role)
                return 201, None
            case ["catalogs", catalog, "catalog-roles"] if m == "GET":
                self._catalog(catalog)
                return 200, {"roles": list(self.catalog_roles[catalog].values())}
            case ["catalogs", catalog, "catalog-roles"] if m == "POST":
                self._catalog(catalog)
                role = dict(body["catalogRole"])
                if role["name"] in self.catalog_roles[catalog]:
                    raise _error(409, "catalog role exists", "AlreadyExistsException")
                self.catalog_roles[catalog][role["name"]] = role
                return 201, role
            case ["catalogs", catalog, "catalog-roles", role, "grants"] if m in ("GET", "PUT"):
                self._catalog(catalog)
                self._exists(self.catalog_roles[catalog], role, "catalog role")
                grants = self.grants.setdefault((catalog, role), [])
                if m == "GET":
                    return 200, {"grants": grants}
                grant = body["grant"]
                if (
                    grant["type"] == "namespace"
                    and grant["namespace"] not in self.namespaces[catalog]
                ):
                    raise _error(
                        404, f"namespace {grant['namespace']} not found", "NotFoundException"
                    )
                if grant not in grants:
                    grants.append(grant)
                return 201, None
        raise _error(404, f"no management route {m} {path}", "NotFound")

    def _iceberg(self, r: Recorded, path: str) -> tuple[int, Any]:
        parts = [unquote(p) for p in path.strip("/").split("/")]
        if parts[:2] == ["polaris", "v1"]:
            return self._policy_api(r, parts[2:])
        match parts:
            case ["v1", "config"] if r.method == "GET":
                name = r.query.get("warehouse", "")
                catalog = self._catalog(name)
                return 200, {"defaults": catalog["properties"], "overrides": {"prefix": name}}
            case ["v1", prefix, "namespaces"] if r.method == "GET":
                self._catalog(prefix)
                return 200, {"namespaces": self.namespaces[prefix]}
            case ["v1", prefix, "namespaces"] if r.method == "POST":
                self._catalog(prefix)
                namespace = r.body["namespace"]
                if namespace in self.namespaces[prefix]:
                    raise _error(409, "namespace exists", "AlreadyExistsException")
                self.namespaces[prefix].append(namespace)
                return 200, {"namespace": namespace, "properties": r.body.get("properties", {})}
        raise _error(404, f"no catalog route {r.method} {path}", "NotFound")

    # --- Polaris policy API (see polaris_policies.py) -----------------------------------------
    def _policy_api(self, r: Recorded, parts: list[str]) -> tuple[int, Any]:
        return policy_api(self, r, parts, _error)

    def holds(self, catalog: str, namespace: str | None, privilege: str) -> bool:
        """Whether the caller's grants imply ``privilege`` on ``namespace`` (``None``: catalog).

        Super-privileges as in Polaris 1.7.0 ``PolarisAuthorizerImpl.SUPER_PRIVILEGES``; the
        ``catalog_admin`` role holds CATALOG_MANAGE_ACCESS and CATALOG_MANAGE_METADATA
        (``AtomicOperationMetaStoreManager``, creating a catalog).
        """
        implied = SUPER_PRIVILEGES.get(privilege, (privilege,))
        for principal_role in self.principal_assignments.get(self._caller, []):
            for role in self.catalog_role_assignments.get((principal_role, catalog), []):
                if role == "catalog_admin" and "CATALOG_MANAGE_METADATA" in implied:
                    return True
                for grant in self.grants.get((catalog, role), []):
                    on_scope = grant["type"] == "catalog" or (
                        grant["type"] == "namespace" and grant["namespace"] == [namespace]
                    )
                    if on_scope and grant["privilege"] in implied:
                        return True
        return False

    def require(self, catalog: str, namespace: str | None, privilege: str, op: str) -> None:
        if not self.holds(catalog, namespace, privilege):
            raise _error(
                403,
                f"Principal '{self._caller}' is not authorized for op {op}",
                "ForbiddenException",
            )

    # --- helpers -------------------------------------------------------------------------------
    def _catalog(self, name: str) -> dict[str, Any]:
        return self._exists(self.catalogs, name, "catalog")

    def _principal(self, name: str) -> dict[str, Any]:
        return self._exists(self.principals, name, "principal")

    @staticmethod
    def _exists(table: dict[str, Any], name: str, what: str) -> Any:
        if name not in table:
            raise _error(404, f"{what} {name} not found", "NotFoundException")
        return table[name]

    def _new_credentials(self) -> dict[str, str]:
        n = next(self._ids)
        return {"clientId": f"client-{n}", "secret": f"secret-{n}"}

    def _principal_view(self, name: str) -> dict[str, Any]:
        p = self.principals[name]
        return {"name": p["name"], "clientId": p["clientId"], "properties": p["properties"]}

    def _with_credentials(self, name: str) -> dict[str, Any]:
        p = self.principals[name]
        return {
            "principal": self._principal_view(name),
            "credentials": {"clientId": p["clientId"], "clientSecret": p["secret"]},
        }


@pytest.fixture
def fake_polaris() -> Iterator[FakePolaris]:
    server = FakePolaris().start()
    yield server
    server.stop()


# =============================================================================================
# OpenAPI contract
# =============================================================================================
class OpenApiContract:
    """One OpenAPI document, for checking recorded requests against it."""

    def __init__(self, path: Path, base_path: str) -> None:
        import yaml
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        self.name = path.name
        self.base_path = base_path
        self.spec: dict[str, Any] = yaml.safe_load(path.read_text())
        self._uri = f"urn:spec:{path.name}"
        self._registry = Registry().with_resource(
            self._uri, Resource.from_contents(self.spec, default_specification=DRAFT202012)
        )
        self._templates = []
        for template in self.spec["paths"]:
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            literal = len(re.sub(r"\{[^}]+\}", "", template))
            self._templates.append((re.compile(f"^{pattern}$"), literal, template))

    def owns(self, path: str) -> bool:
        return path.startswith(self.base_path + "/")

    def check(self, request: Recorded) -> list[str]:
        """Problems with ``request`` (empty if it conforms)."""
        path = request.path[len(self.base_path) :]
        matches = [(lit, t) for rx, lit, t in self._templates if rx.match(path)]
        if not matches:
            return [f"{request.method} {path}: no such path in {self.name}"]
        template = max(matches)[1]
        item = self.spec["paths"][template]
        operation = item.get(request.method.lower())
        if operation is None:
            return [f"{request.method} {template}: method not in {self.name}"]
        problems = []
        declared = {
            param["name"]
            for param in map(
                self._resolve, (*item.get("parameters", []), *operation.get("parameters", []))
            )
            if param.get("in") == "query"
        }
        problems += [
            f"{request.method} {template}: query parameter {q!r} not declared"
            for q in request.query
            if q not in declared
        ]
        body_spec = operation.get("requestBody")
        if request.body is None:
            if body_spec and self._resolve(body_spec).get("required"):
                problems.append(f"{request.method} {template}: required body missing")
            return problems
        if not body_spec:
            return [*problems, f"{request.method} {template}: sends a body the spec does not take"]
        content = self._resolve(body_spec)["content"]
        if request.content_type not in content:
            return [
                *problems,
                f"{request.method} {template}: content type {request.content_type!r} not in "
                f"{sorted(content)}",
            ]
        method = request.method.lower()
        media = _escape(request.content_type)
        pointer = f"#/paths/{_escape(template)}/{method}/requestBody/content/{media}/schema"
        return problems + [
            f"{request.method} {template}: {problem}"
            for problem in self.validate(request.body, pointer)
        ]

    def validate(self, instance: Any, pointer: str) -> list[str]:
        """JSON-schema errors, plus discriminator subtypes, plus undeclared properties."""
        problems = self._schema_errors(instance, pointer)
        self._walk(instance, {"$ref": pointer}, "<body>", problems)
        return problems

    def _validator(self, ref: str) -> Any:
        from jsonschema import Draft202012Validator

        return Draft202012Validator({"$ref": f"{self._uri}{ref}"}, registry=self._registry)

    def _schema_errors(self, instance: Any, ref: str) -> list[str]:
        return [
            f"{'/'.join(map(str, e.absolute_path)) or '<body>'}: {e.message}"
            for e in self._validator(ref).iter_errors(instance)
        ]

    def _walk(self, instance: Any, schema: Any, where: str, problems: list[str]) -> None:
        if isinstance(instance, list):
            items = self._resolve(schema).get("items")
            for i, value in enumerate(instance):
                if items is not None:
                    self._walk(value, items, f"{where}/{i}", problems)
            return
        if not isinstance(instance, dict):
            return
        properties: dict[str, list[Any]] = {}
        open_ended = False
        for part in self._parts(schema, instance, where, problems, set()):
            for key, sub in part.get("properties", {}).items():
                properties.setdefault(key, []).append(sub)
            # additionalProperties present (a schema or true): a map, any key is fine.
            open_ended = open_ended or part.get("additionalProperties", False) is not False
        for key, value in instance.items():
            if key not in properties:
                if not open_ended:
                    problems.append(f"{where}: property {key!r} is not declared by the spec")
                continue
            for sub in properties[key]:
                self._walk(value, sub, f"{where}/{key}", problems)

    def _parts(
        self, schema: Any, instance: dict[str, Any], where: str, problems: list[str], seen: set[str]
    ) -> Iterator[dict[str, Any]]:
        """The schema, its allOf parts, the anyOf/oneOf branches the instance matches and the
        discriminator's mapped subtype, all resolved (each $ref once)."""
        ref = schema.get("$ref") if isinstance(schema, dict) else None
        if ref:
            if ref in seen:
                return
            seen.add(ref)
        schema = self._resolve(schema)
        yield schema
        for part in schema.get("allOf", []):
            yield from self._parts(part, instance, where, problems, seen)
        for branch in (*schema.get("anyOf", []), *schema.get("oneOf", [])):
            if "$ref" in branch and self._validator(branch["$ref"]).is_valid(instance):
                yield from self._parts(branch, instance, where, problems, seen)
            elif "$ref" not in branch:
                yield {"additionalProperties": True}  # inline branch: no strictness
        discriminator = schema.get("discriminator")
        if discriminator:
            value = instance.get(discriminator["propertyName"])
            target = discriminator.get("mapping", {}).get(value)
            if target is None:
                problems.append(
                    f"{where}: {discriminator['propertyName']}={value!r} maps to no subtype"
                )
            elif target not in seen:
                # The subtype's own constraints (types, enums, required), which the base skips.
                problems.extend(f"{where}: {p}" for p in self._schema_errors(instance, target))
                yield from self._parts({"$ref": target}, instance, where, problems, seen)

    def _resolve(self, node: Any) -> Any:
        while isinstance(node, dict) and "$ref" in node:
            node = self._at(node["$ref"])
        return node

    def _at(self, pointer: str) -> Any:
        node: Any = self.spec
        for token in pointer.removeprefix("#/").split("/"):
            node = node[token.replace("~1", "/").replace("~0", "~")]
        return node


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@pytest.fixture(scope="session")
def polaris_contracts() -> list[OpenApiContract]:
    if not (MANAGEMENT_SPEC.is_file() and ICEBERG_SPEC.is_file()):
        pytest.skip(
            f"API specifications not found in {SPECS_DIR} (expected polaris-management-service.yml "
            "and iceberg-rest-catalog-open-api.yaml next to the repository, in ../shared/specs)"
        )
    return [
        OpenApiContract(MANAGEMENT_SPEC, MANAGEMENT_BASE),
        PolicyApiContract(CATALOG_BASE),  # before the Iceberg spec, which owns the same base
        OpenApiContract(ICEBERG_SPEC, CATALOG_BASE),
    ]


def contract_problems(contracts: list[OpenApiContract], requests: list[Recorded]) -> list[str]:
    problems = []
    for request in requests:
        owners = [c for c in contracts if c.owns(request.path)]
        if not owners:
            problems.append(f"{request.method} {request.path}: under no known API base path")
            continue
        problems.extend(owners[0].check(request))
    return problems
