"""Wall time and peak memory of a command, its children included (dbt runs as a subprocess)."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
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


def run_measured(
    args: list[str], *, env: dict[str, str] | None = None, label: str = ""
) -> Measurement:
    """Run ``python <args>`` in a fresh interpreter; sample the RSS of its process tree."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, *args],
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    handle = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            peak = max(peak, tree_rss(handle))
        except psutil.NoSuchProcess:
            break
        time.sleep(SAMPLE_SECONDS)
    seconds = time.perf_counter() - started
    output = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        sys.stderr.write(output[-20_000:])
        raise SystemExit(
            f"benchmark step {label or args} failed (exit {proc.returncode}); output above"
        )
    return Measurement(seconds=seconds, peak_rss_mb=peak / 2**20)
