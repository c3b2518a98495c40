"""Check Superset in a running cluster (CI: .github/workflows/kind-e2e.yml; by hand after `make up`).

With `make port-forward` running it, and after e2e_check.py has filled gold:
1. Trino, as the user `superset`: gold and health answer; silver and the writable catalog
   `iceberg` are refused (values/trino.yaml accessControl);
2. Superset's API: the admin of the Secret logs in; the bundle's Trino connection, its datasets
   and every dashboard of the bundle exist (imported by the init Job); every chart's data request
   succeeds.

    uv run python infrastructure/scripts/superset_check.py
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.request
from pathlib import Path

from analytics import cluster
from analytics.spec import load_spec
from lakehouse.platform import charts
from lakehouse.platform.secrets import CREDENTIALS_FILE

READ_PROBES = (
    "SELECT count(*) FROM iceberg_readonly.gold.fct_orders",
    "SELECT count(*) FROM iceberg_readonly.health.tables",  # written after the run's publish
)
REFUSED_PROBES = (
    "SELECT count(*) FROM iceberg_readonly.silver.dim_customer",
    "SELECT count(*) FROM iceberg.gold.fct_orders",
)


def check_trino_user(port: int) -> None:
    import trino

    conn = trino.dbapi.connect(host="localhost", port=port, user=cluster.TRINO_USER)
    cur = conn.cursor()
    for sql in READ_PROBES:
        cur.execute(sql)
        print(f"    as {cluster.TRINO_USER}: {sql} -> {cur.fetchone()[0]}")
    for sql in REFUSED_PROBES:
        try:
            cur.execute(sql)
            cur.fetchall()
        except trino.exceptions.TrinoUserError as exc:
            if "Access Denied" not in str(exc):
                raise
            print(f"    as {cluster.TRINO_USER}: {sql} -> refused (Access Denied)")
        else:
            raise SystemExit(f"error: Trino let the user {cluster.TRINO_USER} run: {sql}")


def credentials(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)
    return {key: value for key, value in pairs if not key.startswith("#")}


def call(base: str, path: str, token: str | None = None, body: dict | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.load(response)
    except urllib.error.HTTPError as exc:
        raise SystemExit(f"error: {path} -> HTTP {exc.code}: {exc.read()[:500]!r}") from exc


def check_superset(port: int, creds: dict[str, str]) -> None:
    base = f"http://localhost:{port}"
    login = {
        "username": creds["SUPERSET_ADMIN_USER"],
        "password": creds["SUPERSET_ADMIN_PASSWORD"],
        "provider": "db",
    }
    token = call(base, "/api/v1/security/login", body=login)["access_token"]
    print(f"    logged in as {creds['SUPERSET_ADMIN_USER']}")
    listing = "?q=(page_size:100)"
    databases = call(base, f"/api/v1/database/{listing}", token)["result"]
    names = {db["database_name"]: db.get("backend") for db in databases}
    if names.get(cluster.DATABASE_NAME) != "trino":
        raise SystemExit(f"error: no Trino connection {cluster.DATABASE_NAME!r}: {names}")
    dashboards = call(base, f"/api/v1/dashboard/{listing}", token)["result"]
    datasets = call(base, f"/api/v1/dataset/{listing}", token)["result"]
    charts_ = call(base, f"/api/v1/chart/{listing}", token)["result"]
    print(f"    {len(dashboards)} dashboards, {len(datasets)} datasets, {len(charts_)} charts")
    expected = {dashboard.slug for dashboard in cluster.cluster_dashboards(load_spec())}
    if not expected <= {dashboard["slug"] for dashboard in dashboards} or not charts_:
        raise SystemExit(f"error: the bundle's dashboards {sorted(expected)} were not imported")
    for chart in charts_:
        # The chart's saved query context, as the dashboard would request it.
        result = call(base, f"/api/v1/chart/{chart['id']}/data/", token)["result"]
        rows = sum(part.get("rowcount", 0) for part in result)
        print(f"    chart {chart['slice_name']!r}: {rows} rows")


def main(argv: list[str] | None = None) -> int:
    table = charts.services()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--trino-port", type=int, default=table["trino"].local_port)
    parser.add_argument("--superset-port", type=int, default=table["superset"].local_port)
    parser.add_argument("--credentials", type=Path, default=CREDENTIALS_FILE)
    args = parser.parse_args(argv)
    print("==> Trino as Superset's user: gold and health only, read-only")
    check_trino_user(args.trino_port)
    print("==> Superset: login, imported connection, dashboards, chart data")
    check_superset(args.superset_port, credentials(args.credentials))
    print("==> Superset check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
