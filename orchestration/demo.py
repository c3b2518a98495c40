"""``make demo``: the whole graph on the embedded default, one business date after another.

Runs go through the Dagster instance in ``$DAGSTER_HOME``, so ``make dev`` shows them afterwards.
Running the demo again loads nothing twice: dlt's ledger skips dates already loaded, and the
incremental dbt models are skipped for a date the Dagster instance records as built on the same
raw snapshots and dbt project (the marts downstream then have nothing new to rebuild either).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from ingestion.shop.settings import START_DATE
from lakehouse.catalog import get_catalog
from lakehouse.engine import connect
from lakehouse.inventory import layer_row_counts
from lakehouse.layers import Layer
from lakehouse.settings import Profile, Settings
from ml.report import churn_model_summary
from orchestration.partitions import outside_partitions

DBT_LAYERS = {Layer.BRONZE.value, Layer.SILVER.value, Layer.GOLD.value}
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@contextmanager
def output_to(log: Path | None) -> Iterator[None]:
    """Send everything written to stdout and stderr to ``log`` (appended), if one is given.

    dlt's progress blocks and dbt's log lines (printed by dagster-dbt, or by dbt's own process)
    write to the process's file descriptors, so these are redirected, not just ``sys.stdout``.
    The demo's own lines are printed outside this block.
    """
    if log is None:
        yield
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with log.open("ab") as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def execute(
    job: dg.JobDefinition, day: date, instance: dg.DagsterInstance, log: Path | None
) -> dg.ExecuteInJobResult:
    """Run ``job`` for ``day``; a failed run ends the demo saying where to look."""
    with output_to(log):
        result = job.execute_in_process(
            instance=instance,
            partition_key=day.isoformat(),
            run_config=QUIET_LOGS,
            raise_on_error=False,
        )
    if not result.success:
        failed = [e.step_key for e in result.all_events if e.is_step_failure]
        sys.exit(
            f"Run {result.run_id} for {day} failed in {failed}. Read {log or 'the output above'}"
            " or the run's logs in `make dev`, fix the cause, then run `make demo` again "
            "(nothing is loaded twice)."
        )
    return result


def checks_outcome(result: dg.ExecuteInJobResult) -> str:
    checks = result.get_asset_check_evaluations()
    warnings = [
        f"{c.asset_key.to_user_string()} {c.check_name}"
        for c in checks
        if not c.passed and c.severity is dg.AssetCheckSeverity.WARN
    ]
    outcome = f"{sum(1 for c in checks if c.passed)}/{len(checks)} checks passed"
    if warnings:
        outcome += f", {len(warnings)} warning(s): {', '.join(warnings)}"
    return outcome


def run_days(first: date, days: int, instance: dg.DagsterInstance, log: Path | None) -> None:
    from orchestration.definitions import defs

    job = defs.resolve_job_def("lakehouse_job")
    models = {s.key for s in defs.resolve_all_asset_specs() if s.group_name in DBT_LAYERS}
    for n in range(days):
        day = first + timedelta(days=n)
        started = time.monotonic()
        print(
            f"[{n + 1}/{days}] business date {day}: dlt -> raw, dbt -> bronze/silver/gold ...",
            flush=True,
        )
        result = execute(job, day, instance, log)
        outcome = checks_outcome(result)
        if skipped := models - {e.asset_key for e in result.get_asset_materialization_events()}:
            outcome += (
                f"; {len(skipped)} models skipped (checks too): already built for this date "
                "on the same raw data and models"
            )
        print(f"      done in {time.monotonic() - started:.1f}s; {outcome}", flush=True)


def run_churn_model(day: date, instance: dg.DagsterInstance, log: Path | None) -> None:
    """ml_job once, for the last date: train, evaluate, promote (the gate) and score."""
    from orchestration.definitions import defs

    started = time.monotonic()
    print(f"[ml] churn model for {day}: train, evaluate, promote, score ...", flush=True)
    result = execute(defs.resolve_job_def("ml_job"), day, instance, log)
    print(f"      done in {time.monotonic() - started:.1f}s; {checks_outcome(result)}", flush=True)


def report(settings: Settings, first: date) -> None:
    catalog = get_catalog(settings)
    conn = connect(settings.duckdb_path, catalog)
    try:
        print("\nRows per layer")
        for layer, tables in layer_row_counts(catalog, conn).items():
            total = sum(tables.values())
            print(
                f"  {layer.value:<7} {total:>10,}  "
                + ", ".join(f"{t}={n:,}" for t, n in tables.items())
            )
        has_revenue = conn.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = 'gold' and table_name = 'daily_revenue'"
        ).fetchone()[0]
        if has_revenue:
            # The shop's order history before the first date is in the table too (Rows above).
            print(f"\nGold: daily revenue from {first}")
            print(
                conn.sql(
                    "select * from gold.daily_revenue where order_date >= $first order by 1",
                    params={"first": first},
                )
            )
    finally:
        conn.close()
    print(churn_model_summary(catalog))
    print(
        "Next:\n"
        "  make dev         the asset graph, runs and data-test checks in the Dagster UI (localhost:3000)\n"
        "  make dashboards  Superset dashboards over the published gold (localhost:8088)\n"
        "  make docs        the dbt docs site with lineage (localhost:8090)\n"
        "  make sql         SQL on raw/silver/gold as published Iceberg tables (never blocks a run)\n"
        "  make mlflow      the churn model's runs, versions and champion in the MLflow UI\n"
        "  make test        the test suite\n"
        f"  data             everything lives in {settings.data_dir} (make clean removes it)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--days", type=int, default=3, help="business dates to load, from the start"
    )
    parser.add_argument("--start", type=date.fromisoformat, default=START_DATE)
    parser.add_argument(
        "--verbose", action="store_true", help="print dlt's and dbt's logs instead of filing them"
    )
    args = parser.parse_args(argv)
    last = args.start + timedelta(days=args.days - 1)
    problem = outside_partitions([args.start.isoformat(), last.isoformat()])
    if problem:
        sys.exit(f"{problem}: choose --start and --days inside them.")
    settings = Settings.from_env()
    if settings.profile is not Profile.LOCAL:
        sys.exit(
            "make demo runs the embedded default: unset LAKEHOUSE_PROFILE or set it to 'local'."
        )
    instance = dg.DagsterInstance.get()
    log = None if args.verbose else settings.data_dir / "logs" / "demo.log"
    print(
        f"Lakehouse demo: {args.days} business dates from {args.start}, data in {settings.data_dir}"
    )
    if log:
        log.parent.mkdir(parents=True, exist_ok=True)
        print(f"Full logs: {log} (make demo VERBOSE=1 prints them here)")
    run_days(args.start, args.days, instance, log)
    run_churn_model(last, instance, log)
    report(settings, args.start)


if __name__ == "__main__":
    main()
