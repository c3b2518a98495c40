"""Run the whole asset graph (dlt -> Iceberg raw -> dbt on DuckDB) for a date range, in one run.

The environment (LAKEHOUSE_DATA_DIR, ...) is set by the caller; the source replays a recording.
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import dagster as dg


def run_pipeline(recording: Path, first: date, last: date) -> None:
    from orchestration.definitions import defs

    job = defs.resolve_job_def("lakehouse_job")
    result = job.execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={
            "dagster/asset_partition_range_start": first.isoformat(),
            "dagster/asset_partition_range_end": last.isoformat(),
        },
        run_config={
            "ops": {"shop": {"config": {"replay_dir": str(recording)}}},
            "loggers": {"console": {"config": {"log_level": "WARNING"}}},
        },
        raise_on_error=True,
    )
    assert result.success


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recording", type=Path, required=True)
    parser.add_argument("--first", type=date.fromisoformat, required=True)
    parser.add_argument("--last", type=date.fromisoformat, required=True)
    args = parser.parse_args()
    run_pipeline(args.recording, args.first, args.last)


if __name__ == "__main__":
    main()
