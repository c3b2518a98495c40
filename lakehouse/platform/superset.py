"""The dashboards bundle for Superset in the cluster, as the ConfigMap its init Job imports.

``python -m lakehouse.platform.superset configmap --out FILE`` builds Superset's import bundle
from the dashboards-as-code in ``analytics/`` (``python -m analytics.bundle``) for the cluster's
Trino connection, then writes the ConfigMap ``superset-bundle`` holding it (``make up`` applies
it before installing the chart; values/superset.yaml mounts it at /app/bundle).

The connection is made by the bundle, not by hand: the user ``superset`` on the read-only catalog,
which Trino's access rules (values/trino.yaml ``accessControl``) limit to SELECT on gold. The URI
carries no password (Trino runs without authentication in the cluster), so the bundle holds no
secret. Host and port come from the ``services:`` table of charts.yaml.
"""

from __future__ import annotations

import argparse
import base64
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

from lakehouse.paths import REPO_ROOT
from lakehouse.platform import charts

CONFIGMAP = "superset-bundle"
BUNDLE_KEY = "bundle.zip"
DATABASE_NAME = "Lakehouse (Trino, gold)"
TRINO_USER = "superset"
TRINO_CATALOG = "iceberg_readonly"
# The dashboards of analytics/dashboards/ the cluster gets: those whose datasets read gold only.
# `data_health` reads the `health` schema that `python -m analytics.views` measures into the
# laptop's DuckDB file; Trino serves no such schema (and the user `superset` may read gold only),
# so the cluster leaves it out until the pipeline publishes those figures where Trino reads them.
CLUSTER_DASHBOARDS = ("revenue", "customers", "products")
# The API server refuses a ConfigMap whose data exceeds 1 MiB.
MAX_BUNDLE_BYTES = 1024 * 1024


class BundleError(RuntimeError):
    """The bundle could not be built or does not fit a ConfigMap; the message says why."""


def trino_uri() -> str:
    """Superset's SQLAlchemy URI of the cluster's Trino (trino driver, no password)."""
    trino = charts.service("trino")
    return f"trino://{TRINO_USER}@{trino.service}:{trino.port}/{TRINO_CATALOG}"


def build_command(out: Path, python: str = sys.executable) -> list[str]:
    """The analytics builder's command line (analytics/, issue 16's dashboards as code)."""
    return [
        python, "-m", "analytics.bundle",
        "--database", DATABASE_NAME,
        "--sqlalchemy-uri", trino_uri(),
        "--out", str(out),
        *(arg for name in CLUSTER_DASHBOARDS for arg in ("--dashboard", name)),
    ]  # fmt: skip


def build_bundle(out: Path) -> bytes:
    """Run the builder into ``out`` and return the ZIP's bytes."""
    cmd = build_command(out)
    completed = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise BundleError(
            f"the dashboards bundle could not be built ({' '.join(cmd[1:4])} exited "
            f"{completed.returncode}):\n{(completed.stderr or completed.stdout).strip()}"
        )
    if not out.is_file():
        raise BundleError(f"the builder exited 0 but wrote no {out}")
    return out.read_bytes()


def configmap(bundle: bytes, namespace: str) -> dict[str, Any]:
    """The ConfigMap holding ``bundle`` (binaryData), refused if it would not fit."""
    if not bundle.startswith(b"PK"):
        raise BundleError("the bundle is not a ZIP file (Superset imports ZIP bundles only)")
    if len(bundle) > MAX_BUNDLE_BYTES:
        raise BundleError(
            f"the bundle is {len(bundle)} bytes; a ConfigMap holds at most {MAX_BUNDLE_BYTES}"
        )
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": CONFIGMAP,
            "namespace": namespace,
            "labels": {
                "app.kubernetes.io/name": CONFIGMAP,
                "app.kubernetes.io/part-of": "lakehouse",
            },
        },
        "binaryData": {BUNDLE_KEY: base64.b64encode(bundle).decode()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lakehouse.platform.superset", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    cm = sub.add_parser("configmap", help="build the bundle and write the ConfigMap manifest")
    cm.add_argument("--out", type=Path, required=True, help="the manifest file to write")
    sub.add_parser("uri", help="print the Trino URI the bundle's connection uses")
    args = parser.parse_args(argv)

    if args.command == "uri":
        print(trino_uri())
        return 0
    namespace = charts.load()["namespace"]
    try:
        with tempfile.TemporaryDirectory() as tmp:
            manifest = configmap(build_bundle(Path(tmp) / BUNDLE_KEY), namespace)
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    # Written whole or not at all: a failed build above leaves any earlier manifest untouched.
    args.out.write_text(yaml.safe_dump(manifest, sort_keys=False))
    print(
        f"==> wrote ConfigMap {CONFIGMAP} ({len(manifest['binaryData'][BUNDLE_KEY])} base64 chars) to {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
