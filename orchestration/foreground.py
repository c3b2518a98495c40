"""``make dev``'s Ctrl-C: stop the whole server tree, and within a bound.

``python -m orchestration.foreground -- dagster dev -p 3000`` runs the command in a process group
of its own. Ctrl-C (SIGINT), SIGTERM or SIGHUP is passed to that whole group as one SIGINT, which
is what ``dagster dev`` and its children (webserver, daemon, code servers, run workers) expect
from a terminal. If the group has not exited ``GRACE_SECONDS`` later, it gets SIGTERM, then
SIGKILL. The bound is the point: a SIGINT the moment the webserver started serving has left
``dagster dev`` running for minutes (issue 15: twice in full test runs, cause not found), and
``dagster dev`` itself waits up to 60 s for each child (``dagster/_cli/dev.py``,
``_SUBPROCESS_WAIT_TIMEOUT``). Only one SIGINT is sent however many arrive: ``uv run`` passes a
terminal's Ctrl-C on to its child as well (astral-sh/uv#13925), and a second SIGINT would cut
Dagster's own shutdown short.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence

from orchestration.code_server import stop_group

# Dagster's own shutdown takes 2-3 s here, also with a run in progress (it is interrupted).
GRACE_SECONDS = 20.0
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def run_in_foreground(command: Sequence[str], grace: float = GRACE_SECONDS) -> int:
    """Run ``command`` until it exits or a stop signal arrives; return its exit code (0 when
    stopped on request, as a server stopped by Ctrl-C did its job)."""
    requested: list[int] = []
    for stop_signal in STOP_SIGNALS:
        signal.signal(stop_signal, lambda signum, _frame: requested.append(signum))
    process = subprocess.Popen(command, start_new_session=True)
    while process.poll() is None and not requested:
        time.sleep(0.2)
    if process.poll() is not None:  # it ended by itself (perhaps as the request came)
        kill_leftovers(process.pid)
        return 0 if requested else process.returncode
    os.killpg(process.pid, signal.SIGINT)  # not yet reaped, so its group is there
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        print(
            f"{command[0]} did not stop within {grace:.0f} s of Ctrl-C: terminating it",
            file=sys.stderr,
            flush=True,
        )
        stop_group(process, timeout=5)
    kill_leftovers(process.pid)
    return 0


def kill_leftovers(group: int) -> None:
    """Children that outlived the command (its group still exists): nothing may keep serving."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grace", type=float, default=GRACE_SECONDS, help="seconds to wait")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- then the server command")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    return run_in_foreground(command, args.grace)


if __name__ == "__main__":
    sys.exit(main())
