"""``make run_<layer>``, ``backfill``, ``maintain`` and the demo: launch runs as the UI does, and wait.

``dagster job execute`` and ``execute_in_process`` make runs with no code-location origin: they
show under Runs but not on the job's page or the Overview timeline, and the run-failure sensor
(which matches runs to its code location) skips them. ``dagster job launch`` creates the run from
the workspace, with the same origin as a launch from the UI (the code location ``lakehouse`` of
``pyproject.toml``, which ``make dev`` serves too), and hands it to the instance's run queue.

The queue is served by the Dagster daemon. When ``make dev`` runs, its daemon starts the run; when
none is alive, this command starts one for the time of the run (its log goes to
``<data>/logs/daemon.log``), so a failed run is also recorded by the failure sensor before it
exits. One run covers the whole date range: the assets' backfill policy is a single run. A job
without partitions (``table_maintenance_job``) is launched with no dates.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path

import dagster as dg

from lakehouse.paths import REPO_ROOT
from lakehouse.settings import Settings
from orchestration.code_server import stop_group
from orchestration.defs.monitoring.sensors import FAILURE_TAG
from orchestration.partitions import outside_partitions

BIN = Path(sys.executable).parent
# A daemon whose last heartbeat is older than this is not serving the queue. The daemon beats
# every 30 s; dagster's own default tolerance (300 s) would mistake a stopped one for alive.
HEARTBEAT_TOLERANCE_SECONDS = "75"
# The failure sensor ticks every 30 s: how long a failed run waits for its record.
FAILURE_RECORD_WAIT_SECONDS = 120
POLL_SECONDS = 1
# Runs still to finish before a daemon started here stops.
ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def say(line: str) -> None:
    print(line, flush=True)


def partition_tags(start: date, end: date) -> dict[str, str]:
    """The tags of a run over one business date, or over a range as one run (as the UI sets)."""
    if start == end:
        return {"dagster/partition": start.isoformat()}
    return {
        "dagster/asset_partition_range_start": start.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
    }


def dagster_cli(*args: str, log: Path) -> subprocess.CompletedProcess[str]:
    """A Dagster CLI command from the repository root (where pyproject.toml names the location)."""
    with log.open("a") as out:
        return subprocess.run(
            [str(BIN / args[0]), *args[1:]],
            cwd=REPO_ROOT,
            env={**os.environ, "DAGSTER_DAEMON_HEARTBEAT_TOLERANCE": HEARTBEAT_TOLERANCE_SECONDS},
            stdout=subprocess.PIPE,
            stderr=out,
            text=True,
            check=False,
        )


def daemon_alive(log: Path) -> bool:
    return dagster_cli("dagster-daemon", "liveness-check", log=log).returncode == 0


class QueueServer:
    """Makes sure a daemon serves the run queue: ``make dev``'s, or one started here until stop.

    A daemon stopped less than the heartbeat tolerance ago still reads as alive, so a run that
    stays queued asks again (``ensure``) and starts one then.
    """

    def __init__(self, log: Path, to_terminal: bool = False, workspace: Path | None = None) -> None:
        self.log = log  # the Dagster commands' output, and the daemon's unless to_terminal
        self.to_terminal = to_terminal
        # The code locations' workspace file (orchestration/code_server.py); default: pyproject's.
        self.workspace = workspace
        self.daemon: subprocess.Popen | None = None

    def workspace_args(self) -> list[str]:
        return ["-w", str(self.workspace)] if self.workspace else []

    def ensure(self) -> str | None:
        """Start a daemon if none is alive; say which one serves the queue (None: unchanged)."""
        if self.daemon is not None or daemon_alive(self.log):
            return None
        with self.log.open("a") as out:
            self.daemon = subprocess.Popen(
                [str(BIN / "dagster-daemon"), "run", *self.workspace_args()],
                cwd=REPO_ROOT,
                stdout=None if self.to_terminal else out,
                stderr=None if self.to_terminal else out,
                start_new_session=True,  # its own process group: stopped as one below
            )
        return f"started a Dagster daemon for this run (log: {self.log})"

    def stop(self, instance: dg.DagsterInstance) -> None:
        if self.daemon is None:
            return
        # This daemon also runs the sensors: runs it started meanwhile (the automation sensor's
        # marts after a layer run) finish before it stops, or stopping it would kill them.
        while active := instance.get_runs(dg.RunsFilter(statuses=ACTIVE)):
            print(
                f"          waiting for {len(active)} run(s) the daemon started: "
                + ", ".join(f"{r.job_name} {r.run_id[:8]}" for r in active),
                flush=True,
            )
            time.sleep(POLL_SECONDS * 5)
        stop_group(self.daemon, timeout=60)
        # Its last heartbeat would otherwise read as a live daemon to the next launch.
        dagster_cli("dagster-daemon", "wipe", log=self.log)


def wait_for(
    instance: dg.DagsterInstance,
    run_id: str,
    server: QueueServer,
    on_status: Callable[[str], None] = say,
) -> dg.DagsterRun:
    """Poll the run until it finishes, telling ``on_status`` each status it passes through."""
    seen = None
    started = last_check = time.monotonic()
    while True:
        run = instance.get_run_by_id(run_id)
        if run is None:
            raise RuntimeError(f"run {run_id} is not in the instance {instance.root_directory}")
        if run.status != seen:
            seen = run.status
            on_status(f"  {time.monotonic() - started:6.0f}s  {seen.value.lower()}")
        if run.is_finished:
            return run
        if run.status == dg.DagsterRunStatus.QUEUED and time.monotonic() - last_check > 30:
            last_check = time.monotonic()
            if message := server.ensure():
                on_status(f"          no daemon served the queue: {message}")
        time.sleep(POLL_SECONDS)


def failure_explained(instance: dg.DagsterInstance, run_id: str) -> str:
    """What failed and what to do next, once the failure sensor recorded the run (before the
    daemon that runs the sensor is stopped)."""
    record = failure_record(instance, run_id)
    if not record:
        return "the failure sensor did not record it in time: read the run's logs in the UI"
    return (
        f"failed in {', '.join(record['failed_steps']) or 'the run'}: {record['error']}\n"
        f"next: {record['next_steps']}"
    )


def failure_record(instance: dg.DagsterInstance, run_id: str) -> dict | None:
    """The failure sensor's record of the run, once its next tick has seen the failure."""
    deadline = time.monotonic() + FAILURE_RECORD_WAIT_SECONDS
    while time.monotonic() < deadline:
        run = instance.get_run_by_id(run_id)
        if run and FAILURE_TAG in run.tags:
            return json.loads(run.tags[FAILURE_TAG])
        time.sleep(POLL_SECONDS)
    return None


def launch_run(
    instance: dg.DagsterInstance,
    server: QueueServer,
    job: str,
    tags: dict[str, str],
    log: Path,
    *,
    run_config: dict | None = None,
    on_status: Callable[[str], None] = say,
) -> dg.DagsterRun | None:
    """Launch ``job`` through the workspace, as the UI does, and wait for it to finish.

    None if the launch itself failed (its reason is in ``log``); ``on_status`` gets each status.
    """
    run_id = str(uuid.uuid4())
    args = ["dagster", "job", "launch", *server.workspace_args(), "-j", job, "--run-id", run_id]
    args += ["--tags", json.dumps(tags)]
    if run_config:
        args += ["--config-json", json.dumps(run_config)]
    if dagster_cli(*args, log=log).returncode != 0:
        return None
    on_status(f"{job}: run {run_id}")
    return wait_for(instance, run_id, server, on_status)


def launch(job: str, start: date | None, end: date | None) -> int:
    """Launch ``job`` as one run, for the dates ``start``..``end`` when given (a partitioned job),
    wait for it, and return an exit code."""
    tags, dates = {}, "all its assets"
    if start is not None:
        end = end or start
        if problem := outside_partitions([start.isoformat(), end.isoformat()]):
            print(problem, file=sys.stderr)
            return 2
        if end < start:
            print(f"the range ends ({end}) before it starts ({start})", file=sys.stderr)
            return 2
        tags, dates = partition_tags(start, end), f"{start}" if start == end else f"{start}..{end}"
    settings = Settings.from_env()
    log = settings.data_dir / "logs" / "daemon.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    server = QueueServer(log)
    with dg.DagsterInstance.get() as instance:
        try:
            served = server.ensure() or "the running Dagster daemon (make dev) serves it"
            print(f"{job} for {dates}; {served}", flush=True)
            run = launch_run(instance, server, job, tags, log)
            if run is None:
                print(f"could not launch {job}: see {log}", file=sys.stderr)
                return 1
            if run.status == dg.DagsterRunStatus.SUCCESS:
                print(f"{job} for {dates} succeeded. In the UI (make dev): Runs > {run.run_id[:8]}")
                return 0
            explained = failure_explained(instance, run.run_id)
        finally:
            server.stop(instance)
    print(f"{job} for {dates} ended {run.status.value.lower()}: run {run.run_id}", file=sys.stderr)
    print(explained)
    return 1


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--job", required=True, help="e.g. lakehouse_job, table_maintenance_job")
    parser.add_argument(
        "--start", type=date.fromisoformat, help="YYYY-MM-DD (partitioned jobs; default: none)"
    )
    parser.add_argument("--end", type=date.fromisoformat, help="YYYY-MM-DD (default: --start)")
    args = parser.parse_args(argv)
    if args.end and not args.start:
        parser.error("--end needs --start")
    sys.exit(launch(args.job, args.start, args.end))


if __name__ == "__main__":
    main()
