"""A run-failure sensor: every failed run is logged and recorded with what to do next.

The record is kept in Dagster's instance, as the tag ``lakehouse/failure`` (one JSON object) on the
failed run: run storage is Postgres in the cluster and the local instance's database on a laptop,
so the record survives the pod that wrote it (a file under ``LAKEHOUSE_DATA_DIR`` lived in the
pod's temporary storage). ``recorded_failures(instance)`` reads them back; the UI shows the tag.
"""

import json
from datetime import UTC, datetime
from typing import Any

import dagster as dg

FAILURE_TAG = "lakehouse/failure"


def next_steps(failed_steps: list[str], error: str) -> str:
    """What an operator should do about a failure, from where it happened."""
    advice = []
    if any(step.startswith("shop") or "dlt" in step for step in failed_steps):
        advice.append(
            "ingestion failed: check the source and storage (the step already retried transient "
            "errors), fix the cause, then re-execute the run from failure. Reloading is safe: the "
            "ledger loads each business date exactly once and dlt finishes a cut-off load first."
        )
    if any("dbt" in step for step in failed_steps):
        advice.append(
            "dbt failed: read the step's log for the failing model or test "
            "(`make run_<layer> PARTITION=<date>` reproduces it locally), fix the model or the "
            "data, then re-execute from failure; raw is untouched."
        )
    if "CommitFailedException" in error:
        advice.append(
            "concurrent writers kept colliding on one table: re-run when the other finishes."
        )
    if not advice:
        advice.append(
            "read the run's logs in the Dagster UI, fix the cause, re-execute from failure."
        )
    return " ".join(advice)


def _root_cause(error: Any) -> str:
    """The innermost error of a chain (Dagster wraps the asset's own exception)."""
    while getattr(error, "cause", None) is not None:
        error = error.cause
    message = error.message.strip()
    if error.cls_name and not message.startswith(error.cls_name):
        message = f"{error.cls_name}: {message}"
    return message


def failure_record(context: dg.RunFailureSensorContext) -> dict[str, Any]:
    run = context.dagster_run
    failures = context.get_step_failure_events()
    steps = [event.step_key or "" for event in failures]
    errors = [
        _root_cause(event.step_failure_data.error)
        for event in failures
        if event.step_failure_data and event.step_failure_data.error
    ]
    error = "; ".join(errors) or context.failure_event.message or "run failed"
    return {
        "failed_at": datetime.now(UTC).isoformat(),
        "run_id": run.run_id,
        "job": run.job_name,
        "partition": run.tags.get("dagster/partition"),
        "failed_steps": steps,
        "error": error[:2000],
        "next_steps": next_steps(steps, error),
    }


@dg.run_failure_sensor(
    name="lakehouse_run_failure_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Logs and records every failed run with what to do next.",
)
def lakehouse_run_failure_sensor(context: dg.RunFailureSensorContext) -> None:
    record = failure_record(context)
    context.log.error(
        f"run {record['run_id']} of {record['job']} (partition {record['partition']}) failed in "
        f"{', '.join(record['failed_steps']) or 'the run'}: {record['error']}\n"
        f"next: {record['next_steps']}"
    )
    context.instance.add_run_tags(record["run_id"], {FAILURE_TAG: json.dumps(record)})


def recorded_failures(instance: dg.DagsterInstance, limit: int = 100) -> list[dict[str, Any]]:
    """The failure records kept on runs in the instance, newest first."""
    runs = instance.get_runs(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]), limit=limit
    )
    return [json.loads(run.tags[FAILURE_TAG]) for run in runs if FAILURE_TAG in run.tags]
