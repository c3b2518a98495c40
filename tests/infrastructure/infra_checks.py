"""Static checkers for the platform's manifests and values files.

Each checker returns a list of violations (strings) instead of asserting, so the tests can run it
on the real files (expect none) and on copies with a planted violation (expect some): a checker
that cannot fail is caught by tests/infrastructure/test_planted_violations.py.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

from lakehouse.paths import REPO_ROOT

INFRA = REPO_ROOT / "infrastructure"
K8S_DIR = INFRA / "kubernetes"
VALUES_DIR = INFRA / "helm" / "values"
CHARTS_FILE = INFRA / "helm" / "charts.yaml"
DOCKERFILE = INFRA / "docker" / "Dockerfile"
KUBE_VERSION = "1.34.0"
NAMESPACE = "lakehouse"
COMPONENT = "lakehouse.io/component"

SECRET_NAME_RE = re.compile(r"PASSWORD|SECRET|TOKEN|KEY|CREDENTIAL", re.IGNORECASE)
# Keys whose value, in a values file, would be a credential if it were a literal.
CREDENTIAL_KEY_RE = re.compile(
    r"password|secret|token|credential|accesskey|secretkey", re.IGNORECASE
)
# Catalog property keys that hold a credential (not e.g. `vended-credentials-enabled`).
CATALOG_SECRET_KEY_RE = re.compile(
    r"(credential|token|password|secret|secret-key|access-key)$", re.IGNORECASE
)
ENV_REF_ONLY_RE = re.compile(r"^(\$\{ENV:[A-Za-z_][A-Za-z0-9_]*\}:?)+$")


# ------------------------------------------------------------------------------------------------
# Loading
# ------------------------------------------------------------------------------------------------
def load_docs(path: Path) -> list[dict[str, Any]]:
    with path.open() as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc]


def load_docs_text(text: str) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(text) if doc]


def where(doc: Mapping[str, Any]) -> str:
    return f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}"


POD_TEMPLATE_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}


def pod_specs(doc: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(location, pod spec) of every pod a manifest would create."""
    kind = doc.get("kind")
    if kind == "Pod":
        yield where(doc), doc["spec"]
    elif kind in POD_TEMPLATE_KINDS:
        yield where(doc), doc["spec"]["template"]["spec"]
    elif kind == "CronJob":
        yield where(doc), doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]


def containers(pod: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for key in ("initContainers", "containers", "ephemeralContainers"):
        yield from pod.get(key) or []


# ------------------------------------------------------------------------------------------------
# Pod Security Standard: restricted (Kubernetes v1.34)
# ------------------------------------------------------------------------------------------------
ALLOWED_VOLUME_TYPES = {
    "configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
    "persistentVolumeClaim", "projected", "secret",
}  # fmt: skip


def restricted_violations(pod: Mapping[str, Any], loc: str) -> list[str]:
    """Violations of the `restricted` Pod Security Standard in one pod spec."""
    out: list[str] = []
    for field in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(field):
            out.append(f"{loc}: {field} is true")
    for volume in pod.get("volumes") or []:
        types = set(volume) - {"name"}
        bad = types - ALLOWED_VOLUME_TYPES
        if bad:
            out.append(f"{loc}: volume {volume.get('name')} uses {sorted(bad)}")
    pod_ctx = pod.get("securityContext") or {}
    if pod_ctx.get("runAsUser") == 0:
        out.append(f"{loc}: pod runAsUser is 0")
    pod_seccomp = (pod_ctx.get("seccompProfile") or {}).get("type")
    if pod_seccomp not in (None, "RuntimeDefault", "Localhost"):
        out.append(f"{loc}: pod seccompProfile {pod_seccomp}")
    all_containers = list(containers(pod))
    if not all_containers:
        out.append(f"{loc}: no containers")
    for container in all_containers:
        cloc = f"{loc} container {container.get('name')}"
        ctx = container.get("securityContext") or {}
        non_root = ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))
        if non_root is not True:
            out.append(f"{cloc}: runAsNonRoot is not true (pod or container)")
        if ctx.get("runAsUser") == 0:
            out.append(f"{cloc}: runAsUser is 0")
        seccomp = (ctx.get("seccompProfile") or {}).get("type", pod_seccomp)
        if seccomp not in ("RuntimeDefault", "Localhost"):
            out.append(f"{cloc}: seccompProfile is {seccomp!r}, not RuntimeDefault")
        if ctx.get("allowPrivilegeEscalation") is not False:
            out.append(f"{cloc}: allowPrivilegeEscalation is not false")
        if ctx.get("privileged"):
            out.append(f"{cloc}: privileged")
        caps = ctx.get("capabilities") or {}
        if "ALL" not in (caps.get("drop") or []):
            out.append(f"{cloc}: capabilities.drop lacks ALL")
        extra = set(caps.get("add") or []) - {"NET_BIND_SERVICE"}
        if extra:
            out.append(f"{cloc}: capabilities.add {sorted(extra)}")
        for port in container.get("ports") or []:
            if port.get("hostPort"):
                out.append(f"{cloc}: hostPort {port['hostPort']}")
        if ctx.get("procMount") not in (None, "Default"):
            out.append(f"{cloc}: procMount {ctx['procMount']}")
    return out


def manifest_restricted_violations(docs: Iterable[Mapping[str, Any]]) -> list[str]:
    return [
        v for doc in docs for loc, pod in pod_specs(doc) for v in restricted_violations(pod, loc)
    ]


# ------------------------------------------------------------------------------------------------
# Secrets in environment variables
# ------------------------------------------------------------------------------------------------
# The one exception to the rule below: an address whose name happens to contain TOKEN/KEY (e.g.
# POLARIS_TOKEN_URI, the OAuth2 token endpoint) may be a literal URL without credentials in it.
ADDRESS_NAME_RE = re.compile(r"_(URI|URL|ENDPOINT)$")
PLAIN_URL_RE = re.compile(r"^https?://[^@\s/]+(/[^@\s]*)?$")


def env_violations(env: Iterable[Mapping[str, Any]] | None, loc: str) -> list[str]:
    """A secret-looking variable must come from valueFrom.secretKeyRef, never `value:`."""
    out = []
    for var in env or []:
        name = str(var.get("name", ""))
        if not SECRET_NAME_RE.search(name):
            continue
        value = var.get("value")
        if ADDRESS_NAME_RE.search(name) and isinstance(value, str) and PLAIN_URL_RE.match(value):
            continue
        if "value" in var:
            out.append(f"{loc}: env {name} has a literal value")
        elif "secretKeyRef" not in (var.get("valueFrom") or {}):
            out.append(f"{loc}: env {name} is not from a secretKeyRef")
    return out


def manifest_env_violations(docs: Iterable[Mapping[str, Any]]) -> list[str]:
    out = []
    for doc in docs:
        for loc, pod in pod_specs(doc):
            for container in containers(pod):
                out += env_violations(
                    container.get("env"), f"{loc} container {container.get('name')}"
                )
    return out


def walk(obj: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    yield path, obj
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            yield from walk(value, (*path, key))
    elif isinstance(obj, list):
        for index, value in enumerate(obj):
            yield from walk(value, (*path, index))


def values_env_violations(values: Any, loc: str) -> list[str]:
    """Every list of {name, value|valueFrom} anywhere in a values file is an env list."""
    out = []
    for path, node in walk(values):
        is_env_list = (
            isinstance(node, list)
            and node
            and all(isinstance(i, Mapping) and "name" in i for i in node)
            and any("value" in i or "valueFrom" in i for i in node)
        )
        if is_env_list:
            out += env_violations(node, f"{loc}:{'.'.join(map(str, path))}")
    return out


def secret_key_refs(obj: Any) -> Iterator[tuple[str, str]]:
    """(secret name, key) of every secretKeyRef anywhere in ``obj``."""
    for _, node in walk(obj):
        if isinstance(node, Mapping) and isinstance(node.get("secretKeyRef"), Mapping):
            ref = node["secretKeyRef"]
            yield str(ref.get("name")), str(ref.get("key"))


def literal_credential_violations(
    values: Any, loc: str, known: Mapping[str, set[str]], public: Iterable[str] = ()
) -> list[str]:
    """Under a credential-like key, a values file may only name a known Secret or Secret key.

    ``public`` lists literals that are identifiers by design (a user name such as the MinIO
    access key id `lakehouse-app`), declared as constants by lakehouse.platform.secrets.
    """
    names = set(known) | set(public)
    keys = {key for ks in known.values() for key in ks}
    out = []
    for path, node in walk(values):
        if not path or not isinstance(path[-1], str) or not isinstance(node, str) or not node:
            continue
        if not CREDENTIAL_KEY_RE.search(path[-1]):
            continue
        if node in names or node in keys:
            continue
        out.append(f"{loc}:{'.'.join(map(str, path))} = {node!r} is not a reference to a Secret")
    return out


def trino_catalog_violations(catalogs: Mapping[str, str], loc: str) -> list[str]:
    """In the catalog ConfigMap, credential properties may only be ${ENV:...} references."""
    out = []
    for catalog, text in catalogs.items():
        for line in str(text).splitlines():
            if "=" not in line or line.lstrip().startswith("#"):
                continue
            key, value = (part.strip() for part in line.split("=", 1))
            if CATALOG_SECRET_KEY_RE.search(key) and not ENV_REF_ONLY_RE.match(value):
                out.append(f"{loc}:{catalog}: {key} is not only ${{ENV:...}} references")
    return out


# ------------------------------------------------------------------------------------------------
# `# --` comments on values keys
# ------------------------------------------------------------------------------------------------
KEY_LINE_RE = re.compile(r"^(?P<indent>\s*)(?:-\s+)?(?P<key>[A-Za-z0-9_.\-/\"']+):(?:\s|$)")


def uncommented_keys(text: str) -> list[str]:
    """Leaf keys with no `# --` comment, neither directly above them nor above an enclosing key.

    Every value in a values file must say why it is overridden: right above it, or above a block
    that contains it (a list of env vars, a securityContext, ...).
    """
    nodes: list[dict[str, Any]] = []  # {key, indent, commented, parent, children, line}
    stack: list[dict[str, Any]] = []
    pending_comment = False
    in_block_scalar_indent: int | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        indent = len(raw) - len(raw.lstrip())
        if in_block_scalar_indent is not None:
            if stripped and indent <= in_block_scalar_indent:
                in_block_scalar_indent = None
            else:
                continue
        if not stripped:
            pending_comment = False
            continue
        if stripped.startswith("#"):
            if stripped.startswith("# --"):
                pending_comment = True
            continue
        match = KEY_LINE_RE.match(raw)
        if not match:
            pending_comment = False
            continue
        key_indent = len(match.group("indent")) + (2 if raw.lstrip().startswith("- ") else 0)
        while stack and stack[-1]["indent"] >= key_indent:
            stack.pop()
        parent = stack[-1] if stack else None
        node = {
            "key": match.group("key"),
            "indent": key_indent,
            "commented": pending_comment,
            "parent": parent,
            "children": [],
            "line": number,
        }
        if parent is not None:
            parent["children"].append(node)
        nodes.append(node)
        stack.append(node)
        pending_comment = False
        if raw.rstrip().endswith(("|", "|-", ">", ">-")):
            in_block_scalar_indent = key_indent

    def ancestor_commented(node: dict[str, Any]) -> bool:
        parent = node["parent"]
        while parent is not None:
            if parent["commented"]:
                return True
            parent = parent["parent"]
        return False

    return [
        f"line {n['line']}: {n['key']}"
        for n in nodes
        if not n["children"] and not n["commented"] and not ancestor_commented(n)
    ]


# ------------------------------------------------------------------------------------------------
# NetworkPolicy evaluation
# ------------------------------------------------------------------------------------------------
def match_selector(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, vals = expr["key"], expr["operator"], expr.get("values") or []
        if op == "In" and labels.get(key) not in vals:
            return False
        if op == "NotIn" and labels.get(key) in vals:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


class Endpoint:
    """A pod (namespace + labels) or an address outside the pod network."""

    def __init__(
        self,
        labels: Mapping[str, str] | None = None,
        namespace: str = NAMESPACE,
        ns_labels: Mapping[str, str] | None = None,
        ip: str = "10.244.0.10",
    ) -> None:
        self.labels = dict(labels or {})
        self.namespace = namespace
        self.ns_labels = dict(ns_labels or {"kubernetes.io/metadata.name": namespace})
        self.ip = ip
        self.is_pod = labels is not None

    def __repr__(self) -> str:
        return f"Endpoint({self.labels or self.ip})"


def _peer_matches(peer: Mapping[str, Any], other: Endpoint, policy_ns: str) -> bool:
    if "ipBlock" in peer:
        block = peer["ipBlock"]
        net = ipaddress.ip_network(block["cidr"])
        addr = ipaddress.ip_address(other.ip)
        return addr in net and not any(
            addr in ipaddress.ip_network(e) for e in block.get("except") or []
        )
    if not other.is_pod:
        return False
    if "namespaceSelector" in peer:
        if not match_selector(peer["namespaceSelector"], other.ns_labels):
            return False
    elif other.namespace != policy_ns:
        return False
    if "podSelector" in peer:
        return match_selector(peer["podSelector"], other.labels)
    return True


def _port_matches(rule_ports: list[Mapping[str, Any]] | None, port: int, protocol: str) -> bool:
    if not rule_ports:
        return True
    for item in rule_ports:
        if item.get("protocol", "TCP") != protocol:
            continue
        if "port" not in item or item["port"] == port:
            return True
        end = item.get("endPort")
        if isinstance(item["port"], int) and end and item["port"] <= port <= end:
            return True
    return False


def _direction_allows(
    policies: list[Mapping[str, Any]],
    subject: Endpoint,
    other: Endpoint,
    port: int,
    protocol: str,
    direction: str,
) -> bool:
    rules_key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
    selecting = [
        p
        for p in policies
        if subject.is_pod
        and p["metadata"].get("namespace", NAMESPACE) == subject.namespace
        and match_selector(p["spec"].get("podSelector", {}), subject.labels)
        and direction in (p["spec"].get("policyTypes") or ["Ingress"])
    ]
    if not selecting:
        return True  # not isolated in this direction
    for policy in selecting:
        for rule in policy["spec"].get(rules_key) or []:
            peers = rule.get(peers_key)
            peer_ok = not peers or any(
                _peer_matches(peer, other, policy["metadata"]["namespace"]) for peer in peers
            )
            if peer_ok and _port_matches(rule.get("ports"), port, protocol):
                return True
    return False


def flow_allowed(
    policies: list[Mapping[str, Any]],
    src: Endpoint,
    dst: Endpoint,
    port: int,
    protocol: str = "TCP",
) -> bool:
    """Would a connection src -> dst:port be allowed (egress of src AND ingress of dst)?"""
    egress = _direction_allows(policies, src, dst, port, protocol, "Egress")
    ingress = not dst.is_pod or _direction_allows(policies, dst, src, port, protocol, "Ingress")
    return egress and ingress


def default_deny_violations(policies: list[Mapping[str, Any]]) -> list[str]:
    for policy in policies:
        spec = policy["spec"]
        if (
            spec.get("podSelector") == {}
            and set(spec.get("policyTypes") or []) == {"Ingress", "Egress"}
            and not spec.get("ingress")
            and not spec.get("egress")
        ):
            return []
    return ["no policy denies all ingress and egress for every pod (podSelector: {})"]


# ------------------------------------------------------------------------------------------------
# Dockerfile
# ------------------------------------------------------------------------------------------------
def dockerfile_violations(text: str) -> list[str]:
    lines = [
        line.strip()
        for line in text.splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    out = []
    froms = [line for line in lines if line.upper().startswith("FROM ")]
    if not froms or not froms[-1].split()[1].startswith("python:3.11-slim"):
        out.append("final stage is not FROM python:3.11-slim")
    for line in froms:
        if not re.search(r"@sha256:[0-9a-f]{64}\b", line.split()[1]):
            out.append(f"{line!r} is a moving tag: pin the base image by digest (@sha256:<64 hex>)")
    # Every `uv sync` keeps uv's cache out of the image: a cache mount, or no cache at all.
    instructions = re.split(r"\n(?=[A-Z]+ )", re.sub(r"\\\n\s*", " ", "\n".join(lines)))
    for instruction in instructions:
        keeps_cache = not re.search(
            r"--mount=type=cache,target=\S*\.cache/uv|--no-cache", instruction
        )
        if instruction.startswith("RUN ") and "uv sync" in instruction and keeps_cache:
            out.append("`uv sync` leaves uv's cache in the image (use a cache mount or --no-cache)")
    users = [line.split(None, 1)[1] for line in lines if line.upper().startswith("USER ")]
    if not users:
        out.append("no USER instruction: the image runs as root")
    else:
        user = users[-1].split(":")[0]
        if user in ("0", "root") or not user.isdigit():
            out.append(f"last USER is {users[-1]!r}: must be a numeric non-root uid")
    joined = "\n".join(lines)
    if "uv sync --frozen --no-dev" not in joined:
        out.append("dependencies are not installed with `uv sync --frozen --no-dev`")
    if not re.search(r"pip install[^\n]*\buv==\d", joined):
        out.append("uv is not installed at a pinned version")
    if "dbt parse --target trino --target-path target/trino" not in joined:
        out.append(
            "the trino dbt manifest is not built (`dbt parse --target trino --target-path target/trino`)"
        )
    return out


def dockerfile_uid(text: str) -> int | None:
    users = [
        line.split(None, 1)[1]
        for line in text.splitlines()
        if line.strip().upper().startswith("USER ")
    ]
    if not users:
        return None
    head = users[-1].split(":")[0]
    return int(head) if head.isdigit() else None


# ------------------------------------------------------------------------------------------------
# Chart pins
# ------------------------------------------------------------------------------------------------
SEMVER_RE = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$")


def chart_pin_violations(charts: Mapping[str, Any], values_dir: Path) -> list[str]:
    out = []
    listed = set()
    for release in charts.get("releases") or []:
        version = str(release.get("version", ""))
        if not SEMVER_RE.match(version):
            out.append(f"release {release.get('name')}: version {version!r} is not an exact pin")
        values = (values_dir.parent / str(release.get("values", ""))).resolve()
        listed.add(values.name)
        if not values.is_file():
            out.append(f"release {release.get('name')}: values file {values} is missing")
        for image in release.get("images") or []:
            out += image_pin_violations(image, f"release {release.get('name')}")
    for path in sorted(values_dir.glob("*.yaml")):
        if path.name not in listed:
            out.append(f"values file {path.name} has no pinned release in charts.yaml")
    return out


def image_pin_violations(image: str, loc: str) -> list[str]:
    name = image.split("@")[0]
    last = name.rsplit("/", 1)[-1]
    if "@sha256:" in image:
        return []
    if ":" not in last:
        return [f"{loc}: image {image} has no tag"]
    if last.endswith(":latest"):
        return [f"{loc}: image {image} uses :latest"]
    return []
