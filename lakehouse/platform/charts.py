"""The pinned upstream Helm releases (infrastructure/helm/charts.yaml) and how to install them.

``python -m lakehouse.platform.charts install <release>`` runs ``helm repo add`` and
``helm upgrade --install --version <pinned> --values <file> --wait`` for one release; ``s3`` means
whichever backend ``s3_backend`` selects. Other subcommands print facts the shell scripts need
(``kind-image``, ``s3-backend``, ``list``, ``forwards``, ``service``). Commands are built by pure
functions, tested offline.

``services:`` in charts.yaml is the one table of Service names, ports and pod labels; the scripts,
the e2e check and the NetworkPolicies use it (tests/infrastructure/test_service_table.py).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from lakehouse.paths import REPO_ROOT

INFRA_DIR = REPO_ROOT / "infrastructure"
CHARTS_FILE = INFRA_DIR / "helm" / "charts.yaml"
DEFAULT_CONTEXT = "kind-lakehouse"


@dataclass(frozen=True)
class Release:
    name: str
    role: str
    repo_name: str
    repo_url: str
    chart: str
    version: str
    values: Path

    @property
    def reference(self) -> str:
        return f"{self.repo_name}/{self.chart}"


@dataclass(frozen=True)
class Service:
    """A row of ``services:``: the Service a chart (or manifest) creates, and its pods' label."""

    name: str
    service: str
    port: int
    label: str
    local_port: int | None = None
    purpose: str = ""
    backend: str | None = None

    @property
    def target(self) -> str:
        return f"svc/{self.service}"


@cache
def load(path: Path = CHARTS_FILE) -> dict[str, Any]:
    with path.open() as handle:
        return yaml.safe_load(handle)


def releases(path: Path = CHARTS_FILE) -> dict[str, Release]:
    doc = load(path)
    base = path.parent
    return {
        item["name"]: Release(
            name=item["name"],
            role=item["role"],
            repo_name=item["repo_name"],
            repo_url=item["repo_url"],
            chart=item["chart"],
            version=str(item["version"]),
            values=(base / item["values"]).resolve(),
        )
        for item in doc["releases"]
    }


def services(path: Path = CHARTS_FILE) -> dict[str, Service]:
    """The ``services:`` table by row name."""
    return {
        row["name"]: Service(
            name=row["name"],
            service=row["service"],
            port=int(row["port"]),
            label=row["label"],
            local_port=int(row["local_port"]) if row.get("local_port") is not None else None,
            purpose=row.get("purpose", ""),
            backend=row.get("backend"),
        )
        for row in load(path)["services"]
    }


def service(name: str, path: Path = CHARTS_FILE) -> Service:
    known = services(path)
    if name not in known:
        raise SystemExit(f"error: no service {name!r} in {path}; known: {', '.join(sorted(known))}")
    return known[name]


def forwards(path: Path = CHARTS_FILE) -> list[Service]:
    """The rows `make port-forward` forwards with the selected S3 backend."""
    backend = load(path)["s3_backend"]
    return [
        row
        for row in services(path).values()
        if row.local_port is not None and row.backend in (None, backend)
    ]


def resolve(name: str, path: Path = CHARTS_FILE) -> Release:
    """A release by name; ``s3`` is the backend chosen by ``s3_backend``."""
    if name == "s3":
        name = load(path)["s3_backend"]
    known = releases(path)
    if name not in known:
        raise SystemExit(f"error: no release {name!r} in {path}; known: {', '.join(sorted(known))}")
    return known[name]


def repo_add_command(release: Release) -> list[str]:
    return ["helm", "repo", "add", release.repo_name, release.repo_url, "--force-update"]


def install_command(
    release: Release, namespace: str, context: str, timeout: str = "10m", wait: bool = True
) -> list[str]:
    """``helm upgrade --install`` of the pinned version with the project's values file."""
    cmd = [
        "helm", "upgrade", "--install", release.name, release.reference,
        "--version", release.version,
        "--namespace", namespace,
        "--kube-context", context,
        "--values", str(release.values),
        "--timeout", timeout,
    ]  # fmt: skip
    if wait:
        cmd.append("--wait")
    return cmd


def _run(cmd: list[str]) -> None:
    print("    $ " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lakehouse.platform.charts", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    inst = sub.add_parser("install", help="helm repo add + helm upgrade --install (pinned)")
    inst.add_argument("release", help="a release name from charts.yaml, or `s3`")
    inst.add_argument("--context", default=DEFAULT_CONTEXT)
    inst.add_argument("--timeout", default="10m")
    sub.add_parser("list", help="print name, chart and pinned version of every release")
    sub.add_parser("kind-image", help="print the pinned kind node image")
    sub.add_parser("kind-version", help="print the kind version the node image belongs to")
    sub.add_parser("s3-backend", help="print the selected S3 backend release")
    sub.add_parser(
        "forwards", help="print `svc/<name> <local>:<port> <purpose>` for make port-forward"
    )
    svc = sub.add_parser("service", help="print `svc/<name> <port>` of one row of services:")
    svc.add_argument("name")
    args = parser.parse_args(argv)

    doc = load()
    if args.command == "list":
        for release in releases().values():
            print(
                f"{release.name:10} {release.reference:22} {release.version:10} {release.values.name}"
            )
    elif args.command == "kind-image":
        print(doc["kind"]["node_image"])
    elif args.command == "kind-version":
        print(doc["kind"]["version"])
    elif args.command == "s3-backend":
        print(doc["s3_backend"])
    elif args.command == "forwards":
        for row in forwards():
            print(f"{row.target} {row.local_port}:{row.port} {row.purpose}")
    elif args.command == "service":
        row = service(args.name)
        print(f"{row.target} {row.port}")
    else:
        release = resolve(args.release)
        print(f"==> {release.name}: chart {release.reference} {release.version}")
        try:
            _run(repo_add_command(release))
            _run(install_command(release, doc["namespace"], args.context, args.timeout))
        except subprocess.CalledProcessError as exc:
            print(
                f"error: installing {release.name} failed (exit {exc.returncode}).\n"
                f"  Look at `kubectl --context {args.context} -n {doc['namespace']} get pods` and "
                f"`kubectl -n {doc['namespace']} describe pod <pod>`; SETUP_GUIDE.md, Troubleshooting.",
                file=sys.stderr,
            )
            return exc.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
