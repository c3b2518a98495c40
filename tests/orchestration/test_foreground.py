"""``orchestration.foreground``: make dev's Ctrl-C reaches the whole server tree once, and a tree
that does not stop is stopped anyway within the bound (issue 15). Real processes and signals."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil

from lakehouse.paths import REPO_ROOT

GRACE = 2.0


def start(script: str, tmp_path: Path) -> subprocess.Popen:
    """The supervisor running ``python -c script``, in a group of its own like a terminal job."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestration.foreground",
            "--grace",
            str(GRACE),
            "--",
            sys.executable,
            "-c",
            textwrap.dedent(script),
        ],
        cwd=REPO_ROOT,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        env={**os.environ, "OUT": str(tmp_path)},
    )


def wait_for_file(path: Path) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never written"
        time.sleep(0.1)


def test_a_server_that_ignores_ctrl_c_and_its_children_are_stopped_within_the_bound(tmp_path):
    supervisor = start(
        """
        import os, pathlib, signal, subprocess, sys, time
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited by the child below
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        pathlib.Path(os.environ["OUT"], "pids").write_text(f"{os.getpid()} {child.pid}")
        time.sleep(600)
        """,
        tmp_path,
    )
    wait_for_file(tmp_path / "pids")
    tree = [psutil.Process(int(pid)) for pid in (tmp_path / "pids").read_text().split()]
    sent = time.monotonic()
    os.killpg(supervisor.pid, signal.SIGINT)
    supervisor.wait(timeout=60)
    took = time.monotonic() - sent
    _, alive = psutil.wait_procs(tree, timeout=10)
    assert alive == []
    assert supervisor.returncode == 0
    assert GRACE <= took < GRACE + 15, took
    assert "did not stop within 2 s of Ctrl-C: terminating it" in supervisor.stderr.read()


def test_ctrl_c_arrives_once_however_many_times_it_is_sent(tmp_path):
    """A terminal's Ctrl-C reaches the supervisor from the terminal and again from ``uv run``."""
    supervisor = start(
        """
        import os, pathlib, signal, time
        received = []
        signal.signal(signal.SIGINT, lambda *_: received.append(1))
        out = pathlib.Path(os.environ["OUT"])
        (out / "ready").write_text("")
        while not received:
            time.sleep(0.05)
        time.sleep(1)  # a graceful shutdown, during which a second SIGINT would cut it short
        (out / "count").write_text(str(len(received)))
        """,
        tmp_path,
    )
    wait_for_file(tmp_path / "ready")
    os.kill(supervisor.pid, signal.SIGINT)
    os.kill(supervisor.pid, signal.SIGINT)
    supervisor.wait(timeout=60)
    assert (tmp_path / "count").read_text() == "1"
    assert supervisor.returncode == 0
    assert supervisor.stderr.read() == ""


def test_a_server_that_exits_by_itself_passes_its_exit_code_on(tmp_path):
    supervisor = start("import sys; sys.exit(3)", tmp_path)
    assert supervisor.wait(timeout=60) == 3
