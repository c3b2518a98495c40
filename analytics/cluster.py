"""The dashboards bundle for Superset in the cluster, as the ConfigMap its init Job imports.

``python -m analytics.cluster configmap --out FILE`` builds Superset's import bundle from the
dashboards as code (``analytics.bundle.build``) for the cluster's Trino connection and writes the
ConfigMap ``superset-bundle`` holding it. ``make up`` applies it with ``kubectl apply
--server-side`` before installing the chart (values/superset.yaml mounts it at /app/bundle).

The connection is made by the bundle, not by hand: the user ``superset`` on the read-only catalog,
which Trino's access rules (values/trino.yaml ``accessControl``) limit to SELECT on the schemas of
``CLUSTER_SCHEMAS``. The cluster gets every dashboard whose datasets read those schemas only,
found from the datasets' SQL. The URI carries no password (Trino runs without authentication in
the cluster), so the bundle holds no secret. Host and port come from charts.yaml ``services:``.
"""

from __future__ import annotations

import argparse
import base64
import sys
import tempfile
from pathlib import Path
from typing import Any

import sqlglot
import yaml
from sqlglot import exp

from analytics import bundle
from analytics.spec import Dashboard, Dataset, Spec, SpecError, load_spec
from lakehouse.layers import HEALTH_NAMESPACE, ML_NAMESPACE, Layer
from lakehouse.platform import charts

CONFIGMAP = "superset-bundle"
BUNDLE_KEY = "bundle.zip"
DATABASE_NAME = "Lakehouse (Trino, gold)"
TRINO_USER = "superset"
TRINO_CATALOG = "iceberg_readonly"
# What the user `superset` may SELECT from in TRINO_CATALOG (values/trino.yaml; the tests hold
# the two together): the published gold marts, the data-health figures and the churn scores.
CLUSTER_SCHEMAS = frozenset({Layer.GOLD.value, HEALTH_NAMESPACE, ML_NAMESPACE})
# The API server refuses a ConfigMap whose data exceeds 1 MiB.
MAX_BUNDLE_BYTES = 1024 * 1024


class BundleError(RuntimeError):
    """The bundle could not be built or does not fit a ConfigMap; the message says why."""


def trino_uri() -> str:
    """Superset's SQLAlchemy URI of the cluster's Trino (trino driver, no password)."""
    trino = charts.service("trino")
    return f"trino://{TRINO_USER}@{trino.service}:{trino.port}/{TRINO_CATALOG}"


def read_schemas(dataset: Dataset) -> set[str]:
    """The schemas a dataset's SQL reads (a table without a schema, not a CTE, counts as '')."""
    tree = sqlglot.parse_one(dataset.sql, read="trino")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    return {
        table.db.lower() for table in tree.find_all(exp.Table) if table.db or table.name not in ctes
    }


def cluster_dashboards(spec: Spec) -> list[Dashboard]:
    """The dashboards whose datasets read only what the user `superset` may read."""
    return [
        dashboard
        for dashboard in spec.dashboards
        if all(
            read_schemas(spec.datasets[chart.dataset]) <= CLUSTER_SCHEMAS
            for chart in dashboard.charts
        )
    ]


def build_bundle(out: Path) -> bytes:
    """Build the cluster's bundle into ``out`` and return the ZIP's bytes."""
    try:
        slugs = [dashboard.slug for dashboard in cluster_dashboards(load_spec())]
        if not slugs:
            raise BundleError(f"no dashboard reads only {', '.join(sorted(CLUSTER_SCHEMAS))}")
        bundle.build(DATABASE_NAME, trino_uri(), out, slugs)
    except (SpecError, sqlglot.errors.ParseError) as exc:
        raise BundleError(f"the dashboards bundle could not be built: {exc}") from None
    return out.read_bytes()


def configmap(data: bytes, namespace: str) -> dict[str, Any]:
    """The ConfigMap holding the bundle ``data`` (binaryData), refused if it would not fit."""
    if not data.startswith(b"PK"):
        raise BundleError("the bundle is not a ZIP file (Superset imports ZIP bundles only)")
    if len(data) > MAX_BUNDLE_BYTES:
        raise BundleError(
            f"the bundle is {len(data)} bytes; a ConfigMap holds at most {MAX_BUNDLE_BYTES}"
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
        "binaryData": {BUNDLE_KEY: base64.b64encode(data).decode()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m analytics.cluster", description=__doc__.split("\n")[0]
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
    size = len(manifest["binaryData"][BUNDLE_KEY])
    print(f"==> wrote ConfigMap {CONFIGMAP} ({size} base64 chars) to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
