"""Runs from the command line are the UI's runs: ``make backfill`` / ``make run_*`` end to end.

The UI check is real and screenshot-free: a dagster-webserver on loopback serves the same
instance, and its GraphQL API (what the UI's pages query) must list the run under its job (the
job page filters runs by their code-location origin: dagster_graphql/schema/pipelines/pipeline.py,
``resolve_runs``), with its partitions, and show the asset kinds and descriptions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psutil
import pytest

from lakehouse.paths import REPO_ROOT
from lakehouse.settings import Settings
from orchestration.code_server import free_port
from orchestration.defs.monitoring.sensors import recorded_failures
from tests.local_server import wait_until_answers

pytestmark = pytest.mark.slow

LOCATION = "lakehouse"  # pyproject.toml [tool.dagster] code_location_name, served by `make dev`


def make(target: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A make target as a user types it, in the test's data folder (taken from the environment)."""
    return subprocess.run(
        ["make", "--no-print-directory", target, *args],
        cwd=REPO_ROOT,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture
def webserver(lakehouse_env: Settings, tmp_path: Path) -> Iterator[str]:
    """A real dagster-webserver on loopback over the test's instance; yields its GraphQL URL."""
    port = free_port()
    log = (tmp_path / "webserver.log").open("w")
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("dagster-webserver")),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=REPO_ROOT,  # the workspace of pyproject.toml, as `make dev`
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        wait_until_answers(
            server, f"http://127.0.0.1:{port}/server_info", tmp_path / "webserver.log"
        )
        yield url
    finally:
        server.terminate()
        server.wait(timeout=60)
        log.close()


def graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(
        url,
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=120) as response:
        body = json.load(response)
    assert "errors" not in body, body
    return body["data"]


JOB_RUNS = """{
  pipelineOrError(params: {repositoryLocationName: "%s", repositoryName: "__repository__",
                           pipelineName: "lakehouse_job"}) {
    ... on Pipeline { runs { runId status repositoryOrigin { repositoryLocationName }
                             tags { key value } } }
  }
}"""

ASSET = """{
  assetNodeOrError(assetKey: {path: %s}) {
    ... on AssetNode {
      kinds description
      owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
      metadataEntries { label ... on TextMetadataEntry { text } }
      assetMaterializations(limit: 10) { runId partition }
    }
  }
}"""


DATES = ["2024-01-01", "2024-01-02"]


def test_backfill_is_one_run_on_the_job_page_with_its_partitions(webserver, lakehouse_env):
    done = make("backfill", f"START={DATES[0]}", f"END={DATES[1]}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "succeeded" in done.stdout

    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
    assert len(runs) == 1, "a backfill of two dates is one run"
    run_id = runs[0].run_id

    job_runs = graphql(webserver, JOB_RUNS % LOCATION)["pipelineOrError"]["runs"]
    assert [r["runId"] for r in job_runs] == [run_id]
    (run,) = job_runs
    assert run["status"] == "SUCCESS"
    # The Overview timeline places a run by its code location.
    assert run["repositoryOrigin"]["repositoryLocationName"] == LOCATION
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert tags["dagster/asset_partition_range_start"] == "2024-01-01"
    assert tags["dagster/asset_partition_range_end"] == "2024-01-02"

    raw = graphql(webserver, ASSET % '["raw", "shop_orders"]')["assetNodeOrError"]
    assert sorted(raw["kinds"]) == ["dlt", "iceberg"]
    assert raw["description"].startswith("Order status change log")
    assert {"label": "dagster/table_name", "text": "raw.orders"} in raw["metadataEntries"]
    assert raw["owners"] == [{"team": "data-engineering"}]
    assert sorted(m["partition"] for m in raw["assetMaterializations"]) == DATES
    assert {m["runId"] for m in raw["assetMaterializations"]} == {run_id}

    gold = graphql(webserver, ASSET % '["gold", "daily_revenue"]')["assetNodeOrError"]
    assert sorted(gold["kinds"]) == ["dbt", "duckdb"]
    assert gold["owners"] == [{"team": "analytics"}]
    # a mart is rebuilt whole (unpartitioned), once in the run
    assert gold["assetMaterializations"] == [{"runId": run_id, "partition": None}]


def test_a_failed_command_line_run_is_recorded_by_the_failure_sensor(lakehouse_env):
    """bronze before raw fails (the raw tables do not exist yet); the sensor records it."""
    failed = make("run_bronze", "PARTITION=2024-01-01")
    assert failed.returncode != 0
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
        assert run.status == dg.DagsterRunStatus.FAILURE
        records = recorded_failures(instance)
    assert [(r["run_id"], r["job"], r["partition"]) for r in records] == [
        (run.run_id, "bronze_job", "2024-01-01")
    ]
    assert "next:" in failed.stdout


def test_make_maintain_is_a_launched_run_of_the_unpartitioned_job(lakehouse_env):
    """table_maintenance_job has no partitions: the launcher runs it with no dates."""
    done = make("maintain")
    assert done.returncode == 0, done.stdout + done.stderr
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs()
    assert run.job_name == "table_maintenance_job"
    assert run.status == dg.DagsterRunStatus.SUCCESS
    assert run.remote_job_origin.location_name == LOCATION  # on the job page and the timeline
    assert not any(tag.startswith("dagster/partition") for tag in run.tags)


def test_the_demos_runs_are_launched_runs_of_their_jobs(lakehouse_env):
    """make demo's runs are the launcher's: on the job pages, with their dates, not in-process."""
    done = make("demo", "DAYS=1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(done.stdout.splitlines()) < 50, done.stdout
    with dg.DagsterInstance.get() as instance:
        runs = instance.get_runs()
    assert sorted((r.job_name, r.tags.get("dagster/partition")) for r in runs) == [
        ("lakehouse_job", "2024-01-01"),
        ("ml_job", "2024-01-01"),
    ]
    for run in runs:
        assert run.status == dg.DagsterRunStatus.SUCCESS, run.job_name
        assert run.remote_job_origin.location_name == LOCATION, run.job_name
        assert run.run_id[:8] in done.stdout  # the demo names each run it launched
    # The code server its launches read the jobs from, the daemon it started and the runs'
    # workers are all gone once it has exited, and so is the code server's workspace file.
    assert [p.cmdline() for p in psutil.process_iter() if serves(p, lakehouse_env)] == []
    assert list((lakehouse_env.data_dir / "logs").glob("*workspace*")) == []


def serves(process: psutil.Process, settings: Settings) -> bool:
    """Whether ``process`` was started for the test's data folder (by its environment)."""
    try:
        return process.environ().get("LAKEHOUSE_DATA_DIR") == str(settings.data_dir)
    except (psutil.AccessDenied, psutil.NoSuchProcess, psutil.ZombieProcess):
        return False
