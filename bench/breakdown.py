"""Where one run's time goes: each step of the graph, and inside the dbt steps each node.

Runs ``days`` dates in one run (the history), then each later date one run at a time, all in
this process on the data folder's Dagster instance (``<data-dir>/dagster``), as ``bench.pipeline``.
For each run it prints the seconds of each step (STEP_START to its end in the run's event log)
and, from dbt's JSON log of each dbt invocation (``dbt.log``): seconds from dbt's first line to
its first node (dbt's start), of models and of tests, and the slowest nodes. A dbt step's time
beyond dbt's own (first to last line) is the dbt process's import, dagster-dbt's event handling
and the row counts (``row_counts.py``). Measurements only; nothing is asserted.

    python -m bench.breakdown --recording <dir> --data-dir <dir> --days 3 --extra 1
"""

from __future__ import annotations

import argparse
import json
import os
import time
from datetime import date, datetime
from pathlib import Path

import dagster as dg

from bench.generate import business_dates
from bench.pipeline import instance_home, run_pipeline

STEP_END = (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE)
RESULTS = {"LogModelResult", "LogTestResult"}  # dbt's JSON log events of a finished node


def step_seconds(entries: list[dg.EventLogEntry]) -> dict[str, float]:
    """Seconds of each step, STEP_START to its end, from the run's event log."""
    starts, seconds = {}, {}
    for entry in entries:
        if entry.dagster_event_type is dg.DagsterEventType.STEP_START:
            starts[entry.step_key] = entry.timestamp
        elif entry.dagster_event_type in STEP_END and entry.step_key in starts:
            seconds[entry.step_key] = entry.timestamp - starts[entry.step_key]
    return seconds


def seconds_of(ts: str) -> float:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()


def dbt_invocations(log_text: str) -> list[dict]:
    """Per dbt invocation in dbt's JSON log: its start (process to first node), each node's
    seconds, and the time from the last node to the end of the command."""
    invocations: list[dict] = []
    for line in log_text.splitlines():
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        name, ts = event["info"]["name"], seconds_of(event["info"]["ts"])
        if name == "MainReportVersion":
            invocations.append({"began": ts, "nodes": [], "first_node": None, "last_node": ts})
        elif not invocations:
            continue
        elif name == "NodeStart" and invocations[-1]["first_node"] is None:
            invocations[-1]["first_node"] = ts
        elif name in RESULTS:
            info = event["data"]["node_info"]
            kind = "model" if name == "LogModelResult" else "test"
            took = float(event["data"]["execution_time"])
            invocations[-1]["nodes"].append((f"{kind} {info['node_name']}", took))
            invocations[-1]["last_node"] = ts
        elif name == "CommandCompleted":
            invocations[-1]["ended"] = ts
    return [
        {
            "nodes": inv["nodes"],
            "start_seconds": (inv["first_node"] or inv["last_node"]) - inv["began"],
            "models_seconds": sum(t for n, t in inv["nodes"] if n.startswith("model")),
            "tests_seconds": sum(t for n, t in inv["nodes"] if n.startswith("test")),
            "end_seconds": inv.get("ended", inv["last_node"]) - inv["last_node"],
            "dbt_seconds": inv.get("ended", inv["last_node"]) - inv["began"],
        }
        for inv in invocations
    ]


def run(recording: Path, data_dir: Path, first: date, last: date) -> dict:
    """One run of the whole graph on the data folder's instance (DAGSTER_HOME), as in the bench."""
    log = data_dir / "dbt" / "local" / "logs" / "dbt.log"
    offset = log.stat().st_size if log.exists() else 0
    started = time.perf_counter()
    run_id = run_pipeline(recording, first, last)
    seconds = time.perf_counter() - started
    with log.open(encoding="utf-8", errors="replace") as f:
        f.seek(offset)
        dbt_log = f.read()
    return {
        "seconds": seconds,
        "steps": step_seconds(dg.DagsterInstance.get().all_logs(run_id)),
        "dbt": dbt_invocations(dbt_log),
    }


def print_run(label: str, measured: dict, top: int) -> None:
    print(f"\n{label}: {measured['seconds']:.1f}s in the run", flush=True)
    for step, seconds in sorted(measured["steps"].items(), key=lambda kv: -kv[1]):
        print(f"  {seconds:7.2f}s  step {step}")
    for inv in measured["dbt"]:
        if not inv["nodes"]:
            continue
        print(
            f"  dbt {inv['dbt_seconds']:.1f}s: {len(inv['nodes'])} nodes, start {inv['start_seconds']:.1f}s, models "
            f"{inv['models_seconds']:.1f}s, tests {inv['tests_seconds']:.1f}s, "
            f"end {inv['end_seconds']:.1f}s"
        )
        for name, took in sorted(inv["nodes"], key=lambda n: -n[1])[:top]:
            print(f"    {took:6.2f}s  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recording", type=Path, required=True)
    parser.add_argument("--data-dir", type=Path, required=True, help="LAKEHOUSE_DATA_DIR")
    parser.add_argument("--days", type=int, required=True, help="dates of the first run")
    parser.add_argument("--extra", type=int, default=1, help="later dates, one run each")
    parser.add_argument("--repeat-last", action="store_true", help="the last date once more")
    parser.add_argument("--top", type=int, default=8, help="slowest dbt nodes shown per step")
    args = parser.parse_args()
    os.environ["LAKEHOUSE_PROFILE"] = "local"
    os.environ["LAKEHOUSE_DATA_DIR"] = str(args.data_dir)
    os.environ["DAGSTER_HOME"] = str(instance_home(args.data_dir))
    dates = business_dates(args.days + args.extra)
    runs = [("history", dates[0], dates[args.days - 1])]
    runs += [(f"one more day {day}", day, day) for day in dates[args.days :]]
    if args.repeat_last:
        runs.append((f"no new data {dates[-1]}", dates[-1], dates[-1]))
    for label, first, last in runs:
        print_run(label, run(args.recording, args.data_dir, first, last), args.top)


if __name__ == "__main__":
    main()
