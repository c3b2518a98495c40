"""The fake Polaris' policy API: what Polaris 1.7.0 accepts and refuses, for the bootstrap's
maintenance policies and the maintenance job's ``applicable-policies`` reads.

Sources, apache/polaris at tag apache-polaris-1.7.0:

* ``spec/polaris-catalog-apis/policy-apis.yaml``: the routes under
  ``/api/catalog/polaris/v1/{prefix}``, ``CreatePolicyRequest`` (name, type, description,
  content), a new policy's version 0, 409 for a duplicate name or a second inheritable policy of
  one type on one target, ``PolicyAttachmentTarget`` (catalog / namespace / table-like, path),
  ``applicable-policies`` with ``namespace`` (parts joined by 0x1F) and ``target-name``, table
  over namespace over catalog for inheritable policies, ``inherited`` and ``namespace`` fields.
* ``polaris-core/.../policy/PredefinedPolicyTypes.java``: the four ``system.*`` types, all
  inheritable; ``policy/validator/PolicyValidators.java`` and ``policy/content/maintenance/*``:
  the content is JSON with a required strict boolean ``enable``, version ``2025-02-03`` only,
  unknown properties refused (``PolicyContentUtil``: FAIL_ON_UNKNOWN_PROPERTIES); orphan removal
  adds ``max_orphan_file_age_in_days`` (a Java int) and ``locations``.
* ``polaris-core/.../auth/RbacOperationSemantics.java``: CREATE_POLICY needs POLICY_CREATE,
  LOAD_POLICY POLICY_READ, UPDATE_POLICY POLICY_WRITE, attaching POLICY_ATTACH plus
  CATALOG_/NAMESPACE_ATTACH_POLICY, applicable policies CATALOG_/NAMESPACE_/TABLE_READ_PROPERTIES;
  ``PolarisAuthorizerImpl.java`` SUPER_PRIVILEGES: which grants imply those.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

POLICY_TYPES = (
    "system.data-compaction",
    "system.metadata-compaction",
    "system.orphan-file-removal",
    "system.snapshot-expiry",
)
_MANAGE = ("CATALOG_MANAGE_CONTENT", "CATALOG_MANAGE_METADATA")
SUPER_PRIVILEGES: dict[str, tuple[str, ...]] = {
    "POLICY_CREATE": ("POLICY_CREATE", "POLICY_FULL_METADATA", *_MANAGE),
    "POLICY_WRITE": ("POLICY_WRITE", "POLICY_FULL_METADATA", *_MANAGE),
    "POLICY_READ": ("POLICY_READ", "POLICY_WRITE", "POLICY_FULL_METADATA", *_MANAGE),
    "POLICY_ATTACH": ("POLICY_ATTACH", *_MANAGE),
    "CATALOG_ATTACH_POLICY": ("CATALOG_ATTACH_POLICY", *_MANAGE),
    "NAMESPACE_ATTACH_POLICY": ("NAMESPACE_ATTACH_POLICY", *_MANAGE),
    "CATALOG_READ_PROPERTIES": (
        "CATALOG_FULL_METADATA",
        *_MANAGE,
        "CATALOG_READ_PROPERTIES",
        "CATALOG_WRITE_PROPERTIES",
        "SERVICE_MANAGE_ACCESS",
    ),
    "NAMESPACE_READ_PROPERTIES": (
        *_MANAGE,
        "NAMESPACE_FULL_METADATA",
        "NAMESPACE_READ_PROPERTIES",
        "NAMESPACE_WRITE_PROPERTIES",
    ),
    "TABLE_READ_PROPERTIES": (
        *_MANAGE,
        "TABLE_FULL_METADATA",
        "TABLE_READ_DATA",
        "TABLE_READ_PROPERTIES",
        "TABLE_WRITE_DATA",
        "TABLE_WRITE_PROPERTIES",
    ),
}
_NAME = re.compile(r"^[A-Za-z0-9\-_]+$")
_CONTENT_KEYS = {"version", "enable", "config"}
_ORPHAN_KEYS = {"max_orphan_file_age_in_days", "locations"}


def policy_api(
    fake: Any, r: Any, parts: list[str], error: Callable[..., Exception]
) -> tuple[int, Any]:
    m, body = r.method, r.body or {}
    match parts:
        case [prefix, "namespaces", ns, "policies"] if m == "POST":
            _namespace(fake, prefix, ns, error)
            fake.require(prefix, ns, "POLICY_CREATE", "CREATE_POLICY")
            name, kind = body.get("name"), body.get("type")
            if not isinstance(name, str) or not _NAME.match(name):
                raise error(400, f"invalid policy name {name!r}", "BadRequestException")
            if kind not in POLICY_TYPES:
                raise error(400, f"Unknown policy type: {kind}", "BadRequestException")
            _validate_content(kind, body.get("content"), error)
            if (prefix, ns, name) in fake.policies:
                raise error(409, f"Policy {name} already exists", "AlreadyExistsException")
            policy = {
                "policy-type": kind,
                "inheritable": True,
                "name": name,
                "description": body.get("description", ""),
                "content": body.get("content"),
                "version": 0,
            }
            fake.policies[(prefix, ns, name)] = policy
            return 200, {"policy": policy}
        case [prefix, "namespaces", ns, "policies", name] if m == "GET":
            _namespace(fake, prefix, ns, error)
            fake.require(prefix, ns, "POLICY_READ", "LOAD_POLICY")
            return 200, {"policy": _policy(fake, prefix, ns, name, error)}
        case [prefix, "namespaces", ns, "policies", name] if m == "PUT":
            _namespace(fake, prefix, ns, error)
            fake.require(prefix, ns, "POLICY_WRITE", "UPDATE_POLICY")
            policy = _policy(fake, prefix, ns, name, error)
            if body.get("current-policy-version") != policy["version"]:
                raise error(409, "policy version mismatch", "PolicyVersionMismatchException")
            if "content" in body:
                _validate_content(policy["policy-type"], body["content"], error)
                policy["content"] = body["content"]
            if "description" in body:
                policy["description"] = body["description"]
            policy["version"] += 1
            return 200, {"policy": policy}
        case [prefix, "namespaces", ns, "policies", name, "mappings"] if m == "PUT":
            _namespace(fake, prefix, ns, error)
            policy = _policy(fake, prefix, ns, name, error)
            target = body.get("target") or {}
            path = tuple(target.get("path") or ())
            if target.get("type") == "catalog" and not path:
                fake.require(prefix, ns, "POLICY_ATTACH", "ATTACH_POLICY_TO_CATALOG")
                fake.require(prefix, None, "CATALOG_ATTACH_POLICY", "ATTACH_POLICY_TO_CATALOG")
            elif target.get("type") == "namespace" and len(path) == 1:
                _namespace(fake, prefix, path[0], error)
                fake.require(prefix, ns, "POLICY_ATTACH", "ATTACH_POLICY_TO_NAMESPACE")
                fake.require(
                    prefix, path[0], "NAMESPACE_ATTACH_POLICY", "ATTACH_POLICY_TO_NAMESPACE"
                )
            else:
                raise error(400, f"unsupported attachment target {target}", "BadRequestException")
            attached = fake.policy_mappings.setdefault((prefix, path), [])
            for other_ns, other in attached:
                same_type = fake.policies[(prefix, other_ns, other)]["policy-type"]
                if (other_ns, other) != (ns, name) and same_type == policy["policy-type"]:
                    raise error(
                        409,
                        f"policy {other} of type {same_type} is already attached",
                        "PolicyAttachException",
                    )
            if (ns, name) not in attached:
                attached.append((ns, name))
            return 204, None
        case [prefix, "applicable-policies"] if m == "GET":
            fake._catalog(prefix)
            namespace = r.query.get("namespace")
            table = r.query.get("target-name")
            if namespace is None:
                if table is not None:
                    raise error(400, "target-name needs a namespace", "BadRequestException")
                fake.require(prefix, None, "CATALOG_READ_PROPERTIES", "GET_APPLICABLE_POLICIES")
                levels: list[tuple[str, ...]] = [()]
            else:
                parts_ns = tuple(namespace.split("\x1f"))
                _namespace(fake, prefix, parts_ns[0], error)
                if table is None:
                    fake.require(prefix, parts_ns[0], "NAMESPACE_READ_PROPERTIES", "GET_APPLICABLE")
                    levels = [(), parts_ns]
                else:
                    if table not in fake.tables.get((prefix, parts_ns[0]), set()):
                        raise error(404, f"Table does not exist: {table}", "NoSuchTableException")
                    fake.require(prefix, parts_ns[0], "TABLE_READ_PROPERTIES", "GET_APPLICABLE")
                    levels = [(), parts_ns, (*parts_ns, table)]
            return 200, {"applicable-policies": _applicable(fake, prefix, levels)}
    raise error(404, f"no policy route {m} {'/'.join(parts)}", "NotFound")


def _applicable(fake: Any, prefix: str, levels: list[tuple[str, ...]]) -> list[dict[str, Any]]:
    """Per type, the most specific level's policy wins (all predefined types are inheritable)."""
    by_type: dict[str, dict[str, Any]] = {}
    for depth, level in enumerate(levels):
        for ns, name in fake.policy_mappings.get((prefix, level), []):
            policy = fake.policies[(prefix, ns, name)]
            inherited = depth < len(levels) - 1
            by_type[policy["policy-type"]] = {**policy, "inherited": inherited, "namespace": [ns]}
    return list(by_type.values())


def _namespace(fake: Any, prefix: str, ns: str, error: Callable[..., Exception]) -> None:
    fake._catalog(prefix)
    if [ns] not in fake.namespaces[prefix]:
        raise error(404, f"Namespace does not exist: {ns}", "NoSuchNamespaceException")


def _policy(fake: Any, prefix: str, ns: str, name: str, error: Callable[..., Exception]) -> Any:
    if (prefix, ns, name) not in fake.policies:
        raise error(404, f"Policy does not exist: {name}", "NoSuchPolicyException")
    return fake.policies[(prefix, ns, name)]


def _validate_content(kind: str, content: Any, error: Callable[..., Exception]) -> None:
    def invalid(why: str) -> Exception:
        return error(400, f"Invalid policy: {why}", "InvalidPolicyException")

    if not content:
        raise invalid("Policy is empty")
    try:
        parsed = json.loads(content)
    except (TypeError, ValueError) as exc:
        raise invalid(str(exc)) from None
    if not isinstance(parsed, dict):
        raise invalid("not a JSON object")
    allowed = _CONTENT_KEYS | (_ORPHAN_KEYS if kind == "system.orphan-file-removal" else set())
    if unknown := set(parsed) - allowed:
        raise invalid(f"unrecognized field(s) {sorted(unknown)}")
    if not isinstance(parsed.get("enable"), bool):
        raise invalid("'enable' is required and must be a boolean")
    if parsed.get("version", "2025-02-03") != "2025-02-03":
        raise invalid(f"Invalid policy version: {parsed['version']}")
    config = parsed.get("config") or {}
    if not isinstance(config, dict) or any(isinstance(v, dict | list) for v in config.values()):
        raise invalid("'config' must map names to strings, numbers or booleans")
    age = parsed.get("max_orphan_file_age_in_days")
    if age is not None and not (isinstance(age, int) and not isinstance(age, bool)):
        raise invalid("'max_orphan_file_age_in_days' must be an integer (a Java int)")


# --- the policy API's contract (the spec is not among ../shared/specs; its shapes, restated) ----
# (method, path pattern) -> (request schema: field -> required, query parameters)
_ROUTES: dict[tuple[str, str], tuple[dict[str, bool] | None, set[str]]] = {
    ("POST", "namespaces/{ns}/policies"): (
        {"name": True, "type": True, "description": False, "content": False},
        set(),
    ),
    ("GET", "namespaces/{ns}/policies"): (None, {"pageToken", "pageSize", "policyType"}),
    ("GET", "namespaces/{ns}/policies/{name}"): (None, set()),
    ("PUT", "namespaces/{ns}/policies/{name}"): (
        {"description": False, "content": False, "current-policy-version": False},
        set(),
    ),
    ("DELETE", "namespaces/{ns}/policies/{name}"): (None, {"detach-all"}),
    ("PUT", "namespaces/{ns}/policies/{name}/mappings"): (
        {"target": True, "parameters": False},
        set(),
    ),
    ("POST", "namespaces/{ns}/policies/{name}/mappings"): ({"target": True}, set()),
    ("GET", "applicable-policies"): (
        None,
        {"pageToken", "pageSize", "namespace", "target-name", "policyType"},
    ),
}
_TARGET_FIELDS = {"type", "path"}
_TARGET_TYPES = {"catalog", "namespace", "table-like"}


class PolicyApiContract:
    """Checks requests under ``<base>/polaris/v1/{prefix}/`` against policy-apis.yaml (1.7.0)."""

    def __init__(self, base_path: str) -> None:
        self.root = f"{base_path}/polaris/v1/"

    def owns(self, path: str) -> bool:
        return path.startswith(self.root)

    def check(self, request: Any) -> list[str]:
        where = f"{request.method} {request.path}"
        segments = request.path[len(self.root) :].split("/")[1:]  # drop {prefix}
        pattern = "/".join(
            "{ns}"
            if i == 1 and segments[0] == "namespaces"
            else "{name}"
            if i == 3 and segments[0] == "namespaces"
            else s
            for i, s in enumerate(segments)
        )
        route = _ROUTES.get((request.method, pattern))
        if route is None:
            return [f"{where}: no such operation in policy-apis.yaml"]
        schema, params = route
        problems = [
            f"{where}: undeclared query parameter {q!r}" for q in request.query if q not in params
        ]
        body = request.body
        if schema is None:
            return problems + ([f"{where}: a body where none is declared"] if body else [])
        if not isinstance(body, dict):
            return [*problems, f"{where}: the body is not an object"]
        problems += [
            f"{where}: missing {k!r}"
            for k, required in schema.items()
            if required and k not in body
        ]
        problems += [f"{where}: undeclared property {k!r}" for k in body if k not in schema]
        if isinstance(body.get("target"), dict):
            target = body["target"]
            problems += [
                f"{where}: undeclared target property {k!r}"
                for k in target
                if k not in _TARGET_FIELDS
            ]
            if target.get("type") not in _TARGET_TYPES:
                problems.append(
                    f"{where}: target type {target.get('type')!r} not in {_TARGET_TYPES}"
                )
        if "name" in body and not _NAME.match(str(body["name"])):
            problems.append(f"{where}: name {body['name']!r} does not match {_NAME.pattern}")
        for text in ("content", "description", "type", "name"):
            if text in body and not isinstance(body[text], str):
                problems.append(f"{where}: {text!r} must be a string")
        return problems
