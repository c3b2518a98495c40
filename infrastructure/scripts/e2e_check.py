"""End-to-end check of a running cluster (CI: .github/workflows/kind-e2e.yml; by hand after `make up`).

With `make port-forward` running it (local ports from the `services:` table of
infrastructure/helm/charts.yaml, the table `make port-forward` forwards):
1. submits `lakehouse_job` (the whole asset graph: dlt -> raw, dbt bronze/silver/gold) for one
   business date through the Dagster GraphQL API, so the K8sRunLauncher starts a run pod;
2. waits for the run to succeed (prints the run id and the pod to read on failure);
3. queries every gold table through Trino's read-only catalog and fails if one is empty.

    uv run python infrastructure/scripts/e2e_check.py --partition 2024-01-01
"""

from __future__ import annotations

import argparse
import sys
import time

GOLD_TABLES = ("fct_orders", "daily_revenue")
DONE = {"SUCCESS", "FAILURE", "CANCELED"}


def materialize(host: str, port: int, partition: str, timeout: float) -> str:
    from dagster_graphql import DagsterGraphQLClient

    client = DagsterGraphQLClient(host, port_number=port)
    run_id = client.submit_job_execution(
        "lakehouse_job",
        repository_location_name="lakehouse",
        tags={"dagster/partition": partition},
    )
    print(f"==> submitted lakehouse_job for {partition}: run {run_id}", flush=True)
    deadline = time.monotonic() + timeout
    status = "QUEUED"
    while time.monotonic() < deadline:
        status = client.get_run_status(run_id).value
        print(f"    {time.strftime('%H:%M:%S')} {status}", flush=True)
        if status in DONE:
            break
        time.sleep(15)
    if status != "SUCCESS":
        raise SystemExit(
            f"error: run {run_id} ended {status} (or timed out).\n"
            f"  kubectl -n lakehouse get pods -l dagster/run-id={run_id}\n"
            f"  kubectl -n lakehouse logs -l dagster/run-id={run_id} --tail=200"
        )
    return run_id


def query_gold(host: str, port: int, catalog: str) -> dict[str, int]:
    import trino

    conn = trino.dbapi.connect(host=host, port=port, user="e2e", catalog=catalog, schema="gold")
    cur = conn.cursor()
    counts: dict[str, int] = {}
    for table in GOLD_TABLES:
        cur.execute(f"SELECT count(*) FROM {catalog}.gold.{table}")
        counts[table] = int(cur.fetchone()[0])
        print(f"    {catalog}.gold.{table}: {counts[table]} rows")
    empty = [name for name, count in counts.items() if count == 0]
    if empty:
        raise SystemExit(f"error: gold tables without rows: {', '.join(empty)}")
    return counts


def build_parser() -> argparse.ArgumentParser:
    from lakehouse.platform import charts

    table = charts.services()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--partition", default="2024-01-01")
    parser.add_argument("--dagster-port", type=int, default=table["dagster-webserver"].local_port)
    parser.add_argument("--trino-port", type=int, default=table["trino"].local_port)
    parser.add_argument("--catalog", default="iceberg_readonly")
    parser.add_argument("--timeout", type=float, default=2400)
    parser.add_argument("--skip-run", action="store_true", help="only query gold")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.skip_run:
        materialize("localhost", args.dagster_port, args.partition, args.timeout)
    print("==> gold through Trino")
    query_gold("localhost", args.trino_port, args.catalog)
    print("==> end-to-end check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
