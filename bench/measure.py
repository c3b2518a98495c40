"""Wall time and peak memory of a command, its children included (dbt runs as a subprocess)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import psutil

SAMPLE_SECONDS = 0.05


@dataclass(frozen=True)
class Measurement:
    seconds: float
    peak_rss_mb: float


def tree_rss(process: psutil.Process) -> int:
    """Resident memory of a process and all of its descendants, in bytes."""
    total = 0
    for p in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += p.memory_info().rss
    return total


class OverBudget(Exception):
    """A step ran past its time budget and was stopped, its children with it."""


def stop_tree(handle: psutil.Process) -> None:
    for p in [*handle.children(recursive=True), handle]:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()


def run_measured(
    args: list[str],
    *,
    env: dict[str, str] | None = None,
    label: str = "",
    budget_seconds: float | None = None,
) -> Measurement:
    """Run ``python <args>`` in a fresh interpreter; sample the RSS of its process tree.

    With ``budget_seconds``, a step still running after it is killed (with its children, e.g.
    dbt) and ``OverBudget`` raised: the caller reports where it stopped instead of waiting.
    """
    # The output goes to a file, not a pipe: nobody reads a pipe while the step runs, so a step
    # writing more than the pipe holds (64 KiB; a dbt build does) would block for ever.
    with tempfile.TemporaryFile("w+") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, *args],
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        handle = psutil.Process(proc.pid)
        peak = 0
        while proc.poll() is None:
            if budget_seconds is not None and time.perf_counter() - started > budget_seconds:
                stop_tree(handle)
                proc.wait()
                raise OverBudget(f"{label or args} still running after {budget_seconds:.0f}s")
            try:
                peak = max(peak, tree_rss(handle))
            except psutil.NoSuchProcess:
                break
            time.sleep(SAMPLE_SECONDS)
        proc.wait()
        seconds = time.perf_counter() - started
        log.seek(0)
        output = log.read()
    if proc.returncode != 0:
        sys.stderr.write(output[-20_000:])
        raise SystemExit(
            f"benchmark step {label or args} failed (exit {proc.returncode}); output above"
        )
    return Measurement(seconds=seconds, peak_rss_mb=peak / 2**20)
