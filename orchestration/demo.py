"""``make demo``: the whole graph on the embedded default, one business date after another.

Each date is a run of ``lakehouse_job`` (then one of ``ml_job``) launched as ``make run_*`` and the
UI launch them (``orchestration/launch.py``), so the demo's runs show on the job pages and the
Overview timeline, and the failure sensor records a failed one. One Dagster daemon serves the
demo's runs (``make dev``'s when it runs); the runs' own output (dlt's progress, dbt's log lines)
goes to that daemon's log, ``<data>/logs/demo.log``, or with ``--verbose`` to this terminal.
One code server loads the code location for all the demo's launches (``code_server.py``).
Each date waits for the run before (no run is queued ahead: Dagster counts a queued run as not in
progress, so the automation sensor would request the assets it is about to build).

Running the demo again loads nothing twice: dlt's ledger skips dates already loaded, and the
incremental dbt models are skipped for a date the Dagster instance records as built on the same
raw snapshots and dbt project (the marts downstream then have nothing new to rebuild either).
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, timedelta

import dagster as dg

from ingestion.shop.settings import START_DATE
from lakehouse.catalog import get_catalog
from lakehouse.engine import connect
from lakehouse.inventory import layer_row_counts
from lakehouse.layers import Layer
from lakehouse.settings import Profile, Settings
from ml.report import churn_model_summary
from orchestration.code_server import CodeServer
from orchestration.launch import QueueServer, failure_explained, launch_run, partition_tags
from orchestration.partitions import outside_partitions

DBT_LAYERS = {Layer.BRONZE.value, Layer.SILVER.value, Layer.GOLD.value}
# Dagster's own step-by-step log lines stay in the run's logs (make land's runs too).
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# Each run's steps in its worker process, as execute_in_process ran them: one process loads the
# code location once per run, and the embedded engine runs one step at a time anyway.
RUN_CONFIG = {"execution": {"config": {"in_process": {}}}, **QUIET_LOGS}


def launch(instance: dg.DagsterInstance, server: QueueServer, job: str, day: date) -> dg.DagsterRun:
    """Run ``job`` for ``day`` through the launcher; a failed run ends the demo saying where."""
    run = launch_run(
        instance,
        server,
        job,
        partition_tags(day, day),
        server.log,
        run_config=RUN_CONFIG,
        on_status=lambda _: None,  # the demo prints one line per run
    )
    if run is None:
        sys.exit(f"Could not launch {job} for {day}: see {server.log}.")
    if run.status != dg.DagsterRunStatus.SUCCESS:
        print(failure_explained(instance, run.run_id), flush=True)
        sys.exit(
            f"Run {run.run_id} ({job}) for {day} ended {run.status.value.lower()}. Read "
            f"{'the output above' if server.to_terminal else server.log} or the run's logs in "
            "`make dev`, fix the cause, then "
            "run `make demo` again (nothing is loaded twice)."
        )
    return run


def run_events(instance: dg.DagsterInstance, run_id: str, kind: dg.DagsterEventType) -> list:
    return [r.event_log_entry for r in instance.get_records_for_run(run_id, of_type=kind).records]


def checks_outcome(instance: dg.DagsterInstance, run_id: str) -> str:
    checks = [
        entry.asset_check_evaluation
        for entry in run_events(instance, run_id, dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    ]
    warnings = [
        f"{c.asset_key.to_user_string()} {c.check_name}"
        for c in checks
        if not c.passed and c.severity is dg.AssetCheckSeverity.WARN
    ]
    outcome = f"{sum(1 for c in checks if c.passed)}/{len(checks)} checks passed"
    if warnings:
        outcome += f", {len(warnings)} warning(s): {', '.join(warnings)}"
    return outcome


def run_days(first: date, days: int, instance: dg.DagsterInstance, server: QueueServer) -> None:
    from orchestration.definitions import defs

    models = {s.key for s in defs.resolve_all_asset_specs() if s.group_name in DBT_LAYERS}
    for n in range(days):
        day = first + timedelta(days=n)
        started = time.monotonic()
        print(
            f"[{n + 1}/{days}] business date {day}: dlt -> raw, dbt -> bronze/silver/gold ...",
            flush=True,
        )
        run = launch(instance, server, "lakehouse_job", day)
        outcome = checks_outcome(instance, run.run_id)
        built = {
            entry.asset_materialization.asset_key
            for entry in run_events(instance, run.run_id, dg.DagsterEventType.ASSET_MATERIALIZATION)
        }
        if skipped := models - built:
            outcome += (
                f"; {len(skipped)} models skipped (checks too): already built for this date "
                "on the same raw data and models"
            )
        print(
            f"      done in {time.monotonic() - started:.1f}s, run {run.run_id[:8]}; {outcome}",
            flush=True,
        )


def run_churn_model(day: date, instance: dg.DagsterInstance, server: QueueServer) -> None:
    """ml_job once, for the last date: train, evaluate, promote (the gate) and score."""
    started = time.monotonic()
    print(f"[ml] churn model for {day}: train, evaluate, promote, score ...", flush=True)
    run = launch(instance, server, "ml_job", day)
    print(
        f"      done in {time.monotonic() - started:.1f}s, run {run.run_id[:8]}; "
        f"{checks_outcome(instance, run.run_id)}",
        flush=True,
    )


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
    log = settings.data_dir / "logs" / "demo.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    print(
        f"Lakehouse demo: {args.days} business dates from {args.start}, data in {settings.data_dir}"
    )
    if not args.verbose:
        print(f"Full logs: {log} (make demo VERBOSE=1 prints them here)")
    # The runs' output goes where the daemon that runs them writes: the log, or this terminal
    # (with `make dev` running, its daemon runs them and prints there).
    with CodeServer(log) as workspace, dg.DagsterInstance.get() as instance:
        server = QueueServer(log, to_terminal=args.verbose, workspace=workspace)
        try:
            if server.ensure():
                print(
                    "Started a Dagster daemon to run them (make dev's would; it stops at the end)"
                )
            run_days(args.start, args.days, instance, server)
            run_churn_model(last, instance, server)
        finally:
            server.stop(instance)
    report(settings, args.start)


if __name__ == "__main__":
    main()
