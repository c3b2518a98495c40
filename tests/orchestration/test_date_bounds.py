"""Dates outside the business-date partitions are refused on every interface, before any write.

The UI offers only partitions, but ``dagster job execute --tags '{"dagster/partition": ...}'``
(what ``make run_raw`` ... ``run_gold`` run) and the command-line helpers take any text. A date
in the future once generated and committed its increment to raw, and a landing date before the
start committed rows and entered the file ledger before the run failed.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from lakehouse.settings import Settings
from orchestration import demo


def _execute(defs, job: str, tags: dict[str, str]) -> dg.ExecuteInProcessResult:
    with dg.instance_for_test() as instance:
        return defs.resolve_job_def(job).execute_in_process(
            instance=instance, tags=tags, raise_on_error=False
        )


def _written(data_dir: Path) -> list[str]:
    """Everything a run left in the data folder: catalog, warehouse files, dlt state."""
    if not data_dir.exists():
        return []
    return sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file())


def _failure_messages(result: dg.ExecuteInProcessResult) -> list[str]:
    """What each failed step said (every root step of a job checks the dates itself)."""
    failures = [e for e in result.all_events if e.is_step_failure]
    assert failures
    return [e.step_failure_data.user_failure_data.description for e in failures]


@pytest.mark.parametrize(
    ("job", "tags"),
    [
        ("lakehouse_job", {"dagster/partition": "2030-01-01"}),
        ("raw_job", {"dagster/partition": "2023-12-31"}),
        ("gold_job", {"dagster/partition": "2030-01-01"}),
        (
            "lakehouse_job",
            {
                # small: Dagster records a planned event per asset and date before the run
                "dagster/asset_partition_range_start": "2030-01-01",
                "dagster/asset_partition_range_end": "2030-01-02",
            },
        ),
    ],
)
def test_job_refuses_a_date_outside_the_partitions(defs, lakehouse_env: Settings, job, tags):
    result = _execute(defs, job, tags)
    assert not result.success
    for message in _failure_messages(result):
        assert "is not a partition: valid dates are 2024-01-01 to " in message
        assert message.endswith("Nothing was written.")
    assert _written(lakehouse_env.data_dir) == []


def test_landing_refuses_an_ingest_date_before_the_start(defs, lakehouse_env: Settings):
    folder = lakehouse_env.data_dir / "landing" / "partners" / "2023-12-31"
    folder.mkdir(parents=True)
    (folder / "stores.csv").write_text("store_id,store_name,city,opened_on\n1,Main,Lyon,\n")
    result = _execute(defs, "landing_job", {"dagster/partition": "2023-12-31"})
    assert not result.success
    (message,) = _failure_messages(result)
    assert "'2023-12-31' is not a partition" in message
    # Nothing committed to raw, nothing in the file ledger: only the landed file itself.
    assert _written(lakehouse_env.data_dir) == ["landing/partners/2023-12-31/stores.csv"]


def test_demo_refuses_dates_outside_the_partitions(lakehouse_env: Settings, capsys):
    with pytest.raises(SystemExit) as exit_:
        demo.main(["--days", "3", "--start", "2023-12-30"])
    assert "'2023-12-30' is not a partition: valid dates are 2024-01-01 to" in str(exit_.value)
    assert _written(lakehouse_env.data_dir) == []
