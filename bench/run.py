"""`make bench`: the embedded pipeline against its floor, measured side by side in one run.

For each scale factor: record the shop's increments once (Parquet), then time
(a) the whole graph (dlt -> Iceberg raw -> dbt on DuckDB) over N business dates in one run,
(b) the floor: floor.sql in bare DuckDB over the same recording,
(c) one more business date, incrementally, and (d) the same date again (no new data: the fixed cost).
Then the raw step alone against its write floor (``raw_step.py``), 30 dates one run each (day
30 against day 2), the project against the stock peer at small scales (``peer.py``), and the code
location's load time.
Results: a table on stdout and JSON in bench/results/ (git-ignored). Targets are reported, never
asserted: see bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from bench import codeloc
from bench.generate import business_dates, generate
from bench.measure import Measurement, OverBudget, run_measured
from bench.pipeline import instance_home
from bench.publish import measure_publish
from ingestion.shop.generator import TABLES

RESULTS = Path(__file__).with_name("results")


def link_days(recording: Path, days: int, into: Path) -> Path:
    """A view of the first ``days`` dates of a recording (symlinks), for the floor."""
    for table in TABLES:
        (into / table).mkdir(parents=True, exist_ok=True)
        for day in business_dates(days):
            name = f"{day.isoformat()}.parquet"
            (into / table / name).symlink_to(recording / table / name)
    return into


def pipeline(recording: Path, data_dir: Path, first, last, label: str) -> Measurement:
    """One run of the graph; the runs on one data folder share its Dagster instance."""
    env = {
        "LAKEHOUSE_PROFILE": "local",
        "LAKEHOUSE_DATA_DIR": str(data_dir),
        "DAGSTER_HOME": str(instance_home(data_dir)),
    }
    args = [
        "-m",
        "bench.pipeline",
        "--recording",
        str(recording),
        "--first",
        first.isoformat(),
        "--last",
        last.isoformat(),
    ]
    return run_measured(args, env=env, label=label)


def raw_step(
    mode: str, recording: Path, days: int, work: Path, budget: float | None = None
) -> dict:
    """One ``bench.raw_step`` mode in a fresh interpreter and data folder: its report + peak RSS."""
    env = {"LAKEHOUSE_PROFILE": "local", "LAKEHOUSE_DATA_DIR": str(work / mode)}
    report = work / f"{mode}.json"
    args = ["-m", "bench.raw_step", mode, "--recording", str(recording), "--days", str(days)]
    measured = run_measured(
        [*args, "--report", str(report)], env=env, label=f"{mode} raw step", budget_seconds=budget
    )
    result = {**json.loads(report.read_text()), "process": vars(measured)}
    print(
        f"   {mode:<20} {result['seconds']:8.1f}s  {measured.peak_rss_mb:7.0f} MB  "
        f"{result['bytes_per_row']:.0f} bytes written per row",
        flush=True,
    )
    return result


def raw_steps(work: Path, recording: Path, days: int) -> dict:
    """The raw step against its write floor."""
    floor = raw_step("write_floor", recording, days, work)
    raw = raw_step("raw", recording, days, work)
    return {
        "write_floor": floor,
        "raw_step": raw,
        "raw_over_write_floor": raw["seconds"] / floor["seconds"],
    }


def peer(recording: Path, data_dir: Path, days: int, budget: float) -> Measurement:
    """The whole graph from stock parts (``bench.peer``) over the same dates."""
    env = {"LAKEHOUSE_PROFILE": "local", "LAKEHOUSE_DATA_DIR": str(data_dir)}
    args = ["-m", "bench.peer", "--recording", str(recording), "--days", str(days)]
    return run_measured(args, env=env, label="peer pipeline", budget_seconds=budget)


def daily_revenue(database: Path, table: str = "gold.daily_revenue") -> list[tuple]:
    query = f"select order_date, orders, net_revenue from {table} order by 1"
    with duckdb.connect(str(database), read_only=True) as db:
        return db.sql(query).fetchall()


def same_gold(floor_db: Path, data_dir: Path) -> bool:
    return daily_revenue(floor_db, "daily_revenue") == daily_revenue(data_dir / "lakehouse.duckdb")


def bench_scale(work: Path, scale_factor: float, days: int) -> dict:
    print(f"\n== scale factor {scale_factor}, {days} business dates (+1 incremental)", flush=True)
    recording = work / f"sf{scale_factor}" / "recording"
    started = time.perf_counter()
    rows = generate(recording, scale_factor, days + 1)
    print(
        f"   recorded {sum(rows.values()):,} rows in {time.perf_counter() - started:.1f}s "
        f"(not timed below)",
        flush=True,
    )
    full_days = link_days(recording, days, work / f"sf{scale_factor}" / "first_days")
    dates = business_dates(days + 1)
    floor_db = work / f"sf{scale_factor}" / "floor.duckdb"
    data_dir = work / f"sf{scale_factor}" / "data"

    floor = run_measured(
        ["-m", "bench.floor", "--recording", str(full_days), "--database", str(floor_db)],
        label="floor",
    )
    print(f"   (b) floor            {floor.seconds:8.1f}s  {floor.peak_rss_mb:7.0f} MB", flush=True)
    full = pipeline(recording, data_dir, dates[0], dates[days - 1], "full pipeline")
    print(f"   (a) full pipeline    {full.seconds:8.1f}s  {full.peak_rss_mb:7.0f} MB", flush=True)
    matches = same_gold(floor_db, data_dir)
    incremental = pipeline(recording, data_dir, dates[days], dates[days], "incremental")
    print(f"   (c) one more day     {incremental.seconds:8.1f}s  {incremental.peak_rss_mb:7.0f} MB")
    fixed = pipeline(recording, data_dir, dates[days], dates[days], "no new data")
    print(f"   (d) no new data      {fixed.seconds:8.1f}s  {fixed.peak_rss_mb:7.0f} MB", flush=True)
    publish = measure_publish(data_dir, dates[0], dates[days - 1])
    print(
        f"   (e) publish          {publish['publish_seconds']:8.1f}s  "
        f"{publish['publish_over_dbt']:.2f}x its dbt build ({publish['dbt_build_seconds']:.1f}s)",
        flush=True,
    )
    raw = raw_steps(work / f"sf{scale_factor}" / "raw", recording, days)

    loaded = sum(rows.values()) - sum(
        pq.ParquetFile(recording / t / f"{dates[days]}.parquet").metadata.num_rows for t in TABLES
    )
    order_items = rows["order_items"]
    return {
        "scale_factor": scale_factor,
        "days": days,
        "rows_recorded": rows,
        "rows_full_run": loaded,
        "order_items_recorded": order_items,
        "floor": vars(floor),
        "full_pipeline": vars(full),
        "incremental_day": vars(incremental),
        "no_new_data": vars(fixed),
        "full_over_floor": full.seconds / floor.seconds,
        "incremental_over_fixed": incremental.seconds / fixed.seconds,
        "pipeline_rows_per_second": loaded / full.seconds,
        "floor_rows_per_second": loaded / floor.seconds,
        "gold_matches_floor": matches,
        "publish": publish,
        **raw,
    }


def bench_peer(work: Path, scale_factors: list[float], days: int, budget: float) -> dict:
    """The project against the stock peer (``bench.peer``) on the same recording and dates.

    The peer runs at small scales only: its raw step (dlt's stock Iceberg merges) grows faster
    than the rows. Each of its steps gets ``budget`` seconds; past it the step is stopped and the
    larger scales are not tried: the peer is capped there.
    """
    runs: list[dict] = []
    for sf in scale_factors:
        if runs and not runs[-1]["finished"]:
            stopped = "not tried: a smaller scale ran past the budget"
            runs.append({"scale_factor": sf, "days": days, "finished": False, "stopped": stopped})
            continue
        print(
            f"\n== the stock peer against the project, scale factor {sf}, {days} dates", flush=True
        )
        base = work / f"peer-sf{sf}"
        rows = sum(generate(base / "recording", sf, days).values())
        dates = business_dates(days)
        project = pipeline(base / "recording", base / "project", dates[0], dates[-1], "project")
        print(f"   project pipeline     {project.seconds:8.1f}s  {project.peak_rss_mb:7.0f} MB")
        raw = raw_step("raw", base / "recording", days, base / "raw")
        try:
            peer_raw = raw_step("peer", base / "recording", days, base / "raw", budget)
            stock = peer(base / "recording", base / "peer", days, budget)
        except OverBudget as over:
            print(f"   peer stopped: {over}; larger scales not tried", flush=True)
            runs.append({"scale_factor": sf, "days": days, "finished": False, "stopped": str(over)})
            continue
        print(
            f"   peer pipeline        {stock.seconds:8.1f}s  {stock.peak_rss_mb:7.0f} MB",
            flush=True,
        )
        runs.append(
            {
                "scale_factor": sf,
                "days": days,
                "finished": True,
                "rows_recorded": rows,
                "project": vars(project),
                "peer": vars(stock),
                "peer_over_project": stock.seconds / project.seconds,
                "raw_step": raw,
                "peer_raw_step": peer_raw,
                "peer_raw_over_raw": peer_raw["seconds"] / raw["seconds"],
                "same_gold": daily_revenue(base / "project" / "lakehouse.duckdb")
                == daily_revenue(base / "peer" / "lakehouse.duckdb"),
            }
        )
    return {"budget_seconds": budget, "runs": runs}


def bench_days(work: Path, scale_factor: float, days: int) -> dict:
    """Load ``days`` dates one run each: does a day's incremental cost grow with history?"""
    print(f"\n== {days} business dates one after another, scale factor {scale_factor}", flush=True)
    recording = work / "series" / "recording"
    generate(recording, scale_factor, days)
    data_dir = work / "series" / "data"
    per_day = []
    for day in business_dates(days):
        m = pipeline(recording, data_dir, day, day, f"day {day}")
        per_day.append(vars(m))
        print(f"   {day}  {m.seconds:6.1f}s  {m.peak_rss_mb:6.0f} MB", flush=True)
    return {
        "scale_factor": scale_factor,
        "days": days,
        "per_day": per_day,
        "day_last_over_day_2": per_day[-1]["seconds"] / per_day[1]["seconds"],
        "peak_rss_first_mb": per_day[1]["peak_rss_mb"],
        "peak_rss_last_mb": per_day[-1]["peak_rss_mb"],
    }


def report_peer(runs: list[dict]) -> None:
    print(
        "\n| scale x dates | project | stock peer | peer / project | raw step (project, peer) "
        "| peer raw / raw | same gold |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in runs:
        where = f"{r['scale_factor']} x {r['days']}"
        if not r["finished"]:
            print(f"| {where} | capped: {r['stopped']} | | | | | |")
            continue
        print(
            f"| {where} | {r['project']['seconds']:.1f}s | {r['peer']['seconds']:.1f}s "
            f"| {r['peer_over_project']:.2f}x | {r['raw_step']['seconds']:.1f}s, "
            f"{r['peer_raw_step']['seconds']:.1f}s | {r['peer_raw_over_raw']:.1f}x "
            f"| {r['same_gold']} |"
        )


def report(results: dict) -> None:
    print(
        "\n| scale | rows | (a) pipeline | (b) floor | (a)/(b) | (c) +1 day | (d) no new data "
        "| (c)/(d) | peak RSS | gold = floor |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in results["scales"]:
        print(
            f"| {r['scale_factor']} | {r['rows_full_run']:,} | {r['full_pipeline']['seconds']:.1f}s "
            f"({r['pipeline_rows_per_second']:,.0f} rows/s) | {r['floor']['seconds']:.1f}s "
            f"| {r['full_over_floor']:.1f}x | {r['incremental_day']['seconds']:.1f}s "
            f"| {r['no_new_data']['seconds']:.1f}s | {r['incremental_over_fixed']:.2f}x "
            f"| {r['full_pipeline']['peak_rss_mb']:.0f} MB | {r['gold_matches_floor']} |"
        )
    for r in results["scales"]:
        p = r["publish"]
        print(
            f"publish at scale {r['scale_factor']}: {p['publish_seconds']:.1f}s for "
            f"{p['published_tables']} silver/gold tables = {p['publish_over_dbt']:.2f}x the dbt "
            f"build of the same dates ({p['dbt_build_seconds']:.1f}s)"
        )
    print("\n| scale | raw step | write floor | raw / floor | bytes written per row (raw, floor) |")
    print("|---|---|---|---|---|")
    for r in results["scales"]:
        print(
            f"| {r['scale_factor']} | {r['raw_step']['seconds']:.1f}s "
            f"| {r['write_floor']['seconds']:.1f}s | {r['raw_over_write_floor']:.2f}x "
            f"| {r['raw_step']['bytes_per_row']:.0f}, {r['write_floor']['bytes_per_row']:.0f} |"
        )
    if peer_runs := results["peer"]["runs"]:
        report_peer(peer_runs)
    if series := results.get("series"):
        print(
            f"\n{series['days']} days one run each: day {series['days']} / day 2 = "
            f"{series['day_last_over_day_2']:.2f}; peak RSS day 2 "
            f"{series['peak_rss_first_mb']:.0f} MB, day {series['days']} "
            f"{series['peak_rss_last_mb']:.0f} MB"
        )
    cl = results["code_location"]
    print(
        f"\ncode location: {cl['project_load_seconds']:.2f}s cold "
        f"({cl['project_definitions_seconds']:.2f}s definitions after imports); "
        f"{cl['generated_models']} models: {cl['generated_load_seconds']:.2f}s cold "
        f"({cl['generated_definitions_seconds']:.2f}s definitions)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--scale-factors",
        default="4.8,48",
        help="comma-separated; 48 x 10 days is about 8.5 million order items (the start date "
        "delivers 120 days of order history); 480 is ten times that and needs a bigger machine "
        "than 2 cores and 23 GB",
    )
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--series-days", type=int, default=30)
    parser.add_argument("--series-scale-factor", type=float, default=4.8)
    parser.add_argument(
        "--peer-scale-factors",
        default="0.48,4.8",
        help="comma-separated scales at which the stock peer runs against the project on the "
        "same recording ('' for none); its raw step (dlt's stock Iceberg merges) grows faster "
        "than the rows: once a scale runs past --peer-budget, the larger ones are not tried",
    )
    parser.add_argument("--peer-days", type=int, default=3)
    parser.add_argument(
        "--peer-budget",
        type=float,
        default=300,
        help="seconds each peer step may take; past it the peer stops and larger scales are "
        "not tried",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lakehouse-bench-"))
    try:
        results = {
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "platform": platform.platform(),
            },
            "scales": [
                bench_scale(work, float(sf), args.days) for sf in args.scale_factors.split(",")
            ],
            "series": bench_days(work, args.series_scale_factor, args.series_days)
            if args.series_days > 1
            else None,
            "peer": bench_peer(
                work,
                [float(sf) for sf in args.peer_scale_factors.split(",") if sf],
                args.peer_days,
                args.peer_budget,
            ),
            "code_location": codeloc.measure(work),
        }
        report(results)
        RESULTS.mkdir(exist_ok=True)
        out = RESULTS / f"bench-{time.strftime('%Y%m%dT%H%M%S')}.json"
        out.write_text(json.dumps(results, indent=2, default=str))
        print(f"\nJSON: {out}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
