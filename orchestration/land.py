"""``make land SOURCE=<name> DATE=<yyyy-mm-dd>``: land one source's files of one ingest date.

Runs ``landing_job`` for the date, with only that source, through the Dagster instance in
``$DAGSTER_HOME`` (``make dev`` shows the run afterwards), then prints the rows loaded and
quarantined per table, the quarantine reasons and how to query both. A source without a contract
file or a date that is not a partition stops with one line, before anything runs or is written.
Landing a date again loads only files that are new or changed (the ledger skips the others).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import dagster as dg

from ingestion.landing.contract import ContractError, SourceContract, contracts_dir, load_sources
from ingestion.landing.helpers import list_files
from lakehouse.paths import DEFAULT_DATA_DIR
from lakehouse.settings import Profile, Settings
from orchestration.defs.landing.assets import (
    CHECK_NAME,
    LandingConfig,
    landing_root,
    storage_options,
)
from orchestration.demo import QUIET_LOGS
from orchestration.partitions import outside_partitions


def request_problem(source: str, day: str, sources: dict[str, SourceContract]) -> str | None:
    """Why ``source`` and ``day`` cannot be landed, in one line; None when they can."""
    if source not in sources:
        return (
            f"unknown landing source {source!r}: the declared sources are "
            f"{', '.join(sorted(sources)) or 'none'} (contract files in {contracts_dir()})"
        )
    return outside_partitions([day])


def run_landing(
    source: str, day: str, root: str | None, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    from orchestration.definitions import defs  # loads the code location (dbt manifest, contracts)

    config: dict[str, Any] = {"sources": [source], **({"root": root} if root else {})}
    return defs.resolve_job_def("landing_job").execute_in_process(
        instance=instance,
        partition_key=day,
        run_config={"ops": {"landing": {"config": config}}, **QUIET_LOGS},
        raise_on_error=False,
    )


def summary(result: dg.ExecuteInProcessResult, source: str, contract: SourceContract) -> list[str]:
    """Rows loaded and quarantined per table of the run, and the quarantine reasons."""
    loaded = {
        event.asset_key.path[-1]: event.materialization.metadata["rows_loaded"].value
        for event in result.get_asset_materialization_events()
        if "rows_loaded" in event.materialization.metadata
    }
    (check,) = [e for e in result.get_asset_check_evaluations() if e.check_name == CHECK_NAME]
    quarantined: dict[str, int] = check.metadata["quarantined_by_table"].value
    declared = [f"{source}_{t.name}" for t in contract.tables]
    # Files whose name matches no table are quarantined under their name's stem.
    tables = declared + sorted(set(quarantined) - set(declared))
    width = max(len(t) for t in tables) + 4
    lines = [f"  {'raw table':<{width}}{'loaded':>8}{'quarantined':>13}"]
    for table in tables:
        rows = loaded.get(table, 0) if table in declared else "-"
        note = "" if table in declared else "   (no declared table: see the reasons)"
        lines.append(f"  {table:<{width}}{rows:>8}{quarantined.get(table, 0):>13}{note}")
    if not any(loaded.get(t) for t in declared) and not quarantined:
        lines.append(
            "Nothing new: the date has no files, or each was loaded before (a file loads once; "
            "a changed file loads again)."
        )
    reasons: dict[str, int] = check.metadata["reasons"].value
    if reasons:
        lines.append("Quarantine reasons (rows):")
        lines += [f"  {count:>6}  {reason}" for reason, count in reasons.items()]
    return lines


def where_to_look(settings: Settings, source: str, day: str, table: str) -> list[str]:
    if settings.profile is not Profile.LOCAL:
        return [f"Query raw.{table} and raw.quarantine in Trino (catalog iceberg, schema raw)."]
    env = (
        "" if settings.data_dir == DEFAULT_DATA_DIR else f"LAKEHOUSE_DATA_DIR={settings.data_dir} "
    )
    # Source and date are checked identifiers, safe between the quotes.
    quarantine = (
        "select file, line, reason, record from raw.quarantine "
        f"where source = '{source}' and ingest_date = '{day}'"
    )
    return [
        "Query the results (DuckDB over the Iceberg tables; it never blocks a run):",
        f'  {env}make sql SQL="select * from raw.{table} limit 20"',
        f'  {env}make sql SQL="{quarantine}"',
        "The run and its logs: make dev, then Runs (http://localhost:3000).",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="a source with a contract file")
    parser.add_argument("--date", required=True, help="the ingest date (folder name), yyyy-mm-dd")
    parser.add_argument("--root", help="the landing folder or URL (default <data dir>/landing)")
    args = parser.parse_args(argv)
    try:
        sources = load_sources()
    except ContractError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    problem = request_problem(args.source, args.date, sources)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2

    settings = Settings.from_env()
    root = landing_root(settings, LandingConfig(root=args.root))
    files = list(list_files(root, args.source, args.date, storage_options(settings, root)))
    print(f"Landing {args.source} for {args.date}: {len(files)} file(s) in {root}/{args.source}/")
    result = run_landing(args.source, args.date, args.root, dg.DagsterInstance.get())
    if not result.success:
        failed = [e.step_key for e in result.all_events if e.is_step_failure]
        print(
            f"error: run {result.run_id} failed in {failed}: open `make dev`, read the run's logs, "
            "fix the cause and land again (files already loaded are skipped)",
            file=sys.stderr,
        )
        return 1
    print(f"Run {result.run_id}:")
    print("\n".join(summary(result, args.source, sources[args.source])))
    first_table = f"{args.source}_{sources[args.source].tables[0].name}"
    print("\n".join(where_to_look(settings, args.source, args.date, first_table)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
