"""``make bench`` measures each step in a child process: a chatty step must not stall it."""

from __future__ import annotations

import threading

import psutil
import pytest

from bench.measure import OverBudget, run_measured

# 1 MiB of output, then exit: far more than a pipe holds (64 KiB), as a dbt build writes.
CHATTY = "import sys; sys.stdout.write('x' * 2**20); sys.exit({code})"


def measured_within(seconds: float, code: int) -> list[object]:
    """Run the step in a thread; a stalled measurement is a liveness failure, not a timing."""
    outcome: list[object] = []

    def measure() -> None:
        try:
            outcome.append(run_measured(["-c", CHATTY.format(code=code)], label="chatty"))
        except SystemExit as stop:
            outcome.append(stop)

    worker = threading.Thread(target=measure, daemon=True)
    worker.start()
    worker.join(seconds)
    assert outcome, "run_measured never returned: the step blocked on its full output pipe"
    return outcome


def test_a_step_writing_more_than_a_pipe_holds_is_measured() -> None:
    (measurement,) = measured_within(120, code=0)
    assert measurement.seconds > 0
    assert measurement.peak_rss_mb > 0


def test_a_failed_step_stops_the_bench_with_its_output(capsys: pytest.CaptureFixture[str]) -> None:
    (stop,) = measured_within(120, code=3)
    assert isinstance(stop, SystemExit)
    assert "chatty failed (exit 3)" in str(stop.code)
    assert capsys.readouterr().err.endswith("x" * 100)


# A step that starts a child (as the peer starts dbt), reports its pid, then hangs.
HANGING = (
    "import subprocess, sys, time; "
    "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
    "open(sys.argv[1], 'w').write(str(child.pid)); time.sleep(600)"
)


def test_a_step_past_its_budget_is_stopped_with_its_children(tmp_path) -> None:
    pid_file = tmp_path / "child.pid"
    with pytest.raises(OverBudget, match="hanging still running after 3s"):
        run_measured(["-c", HANGING, str(pid_file)], label="hanging", budget_seconds=3)
    try:
        child = psutil.Process(int(pid_file.read_text()))
        _, alive = psutil.wait_procs([child], timeout=10)
        # killed with its parent: gone, or a zombie until whoever adopted it reaps it
        assert all(p.status() == psutil.STATUS_ZOMBIE for p in alive)
    except psutil.NoSuchProcess:
        pass
