"""One code server for many launches: the demo's runs read their job from it.

``dagster job launch`` with the project's workspace (``[tool.dagster]`` in pyproject.toml) starts
a code server of its own and loads the code location in it, once per launch: ~6-10 s of each
date's run in ``make demo``. ``CodeServer`` keeps one ``dagster code-server start`` for the demo's
lifetime and writes a workspace file pointing at it; launches and the daemon the demo starts use
that file. Its location keeps the name of pyproject.toml's (``lakehouse``): the run launcher, the
job pages, the timeline and the run-failure sensor all find a run's code location by that name
(dagster ``DefaultRunLauncher.launch_run``: ``workspace.get_code_location(location_name)``), so
``make dev``'s daemon and UI treat these runs as their own.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from types import TracebackType

import yaml

from lakehouse.paths import REPO_ROOT

BIN = Path(sys.executable).parent
# Importing Dagster before it listens; on a busy 2-core machine that has taken ~20 s.
STARTUP_SECONDS = 120


def project_location() -> tuple[str, str]:
    """The code location's name and module, as pyproject.toml declares them for Dagster."""
    dagster = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["dagster"]
    return dagster["code_location_name"], dagster["module_name"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class CodeServer:
    """``with CodeServer(log) as workspace:`` a code server until the block ends; ``workspace``
    is the file for ``dagster ... -w`` (the first launch waits while the server loads the code)."""

    def __init__(self, log: Path) -> None:
        self.log = log
        self.workspace = log.parent / "demo-workspace.yaml"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Path:
        name, module = project_location()
        port = free_port()
        self.workspace.write_text(
            yaml.safe_dump(
                {
                    "load_from": [
                        {"grpc_server": {"host": "127.0.0.1", "port": port, "location_name": name}}
                    ]
                }
            )
        )
        command = [str(BIN / "dagster"), "code-server", "start", "-m", module]
        command += ["--location-name", name, "-h", "127.0.0.1", "-p", str(port)]
        with self.log.open("a") as out:
            self.process = subprocess.Popen(
                command,
                cwd=REPO_ROOT,
                stdout=out,
                stderr=out,
                start_new_session=True,  # its own process group: stopped as one below
            )
        self.wait_until_listening(port)
        return self.workspace

    def wait_until_listening(self, port: int) -> None:
        """Until the server accepts connections; calls made then wait while it loads the code."""
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the Dagster code server exited: see {self.log}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.2)
        raise RuntimeError(
            f"the Dagster code server did not start in {STARTUP_SECONDS} s: see {self.log}"
        )

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self.process is not None:
            stop_group(self.process, timeout=30)
        self.workspace.unlink(missing_ok=True)


def stop_group(process: subprocess.Popen, timeout: float) -> None:
    """Stop a process started with its own process group (it and its children): SIGTERM, then
    SIGKILL if it has not exited after ``timeout`` seconds."""
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
