"""A shop load in its own process (``python -m tests.integration.shop_load DATE SCALE [BATCH]``).

Settings come from the environment, as in a Dagster run, so a test can start it, SIGKILL it
mid-load and start it again. With ``KILL_AFTER_ICEBERG_APPEND=<table>`` the process SIGKILLs
itself right after the Iceberg commit of that table's append, before dlt marks the job complete:
the narrowest window of a crash; ``*`` kills it after the first append commit of any table.
"""

from __future__ import annotations

import os
import signal
import sys
from datetime import date

from ingestion import iceberg_files
from ingestion.pipeline import make_pipeline
from ingestion.shop import shop

KILL_AFTER_ICEBERG_APPEND = "KILL_AFTER_ICEBERG_APPEND"


def kill_after_append(table_name: str) -> None:
    commit_append = iceberg_files.commit_append

    def commit_then_die(table, *args) -> None:  # type: ignore[no-untyped-def]
        commit_append(table, *args)
        if table_name in ("*", table.name()[-1]):
            os.kill(os.getpid(), signal.SIGKILL)

    iceberg_files.commit_append = commit_then_die


def main(argv: list[str]) -> None:
    day, scale_factor = date.fromisoformat(argv[0]), float(argv[1])
    batch_size = int(argv[2]) if len(argv) > 2 else 100_000
    if table_name := os.environ.get(KILL_AFTER_ICEBERG_APPEND):
        kill_after_append(table_name)
    info = make_pipeline().run(shop(day, scale_factor=scale_factor, batch_size=batch_size))
    print(info, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
