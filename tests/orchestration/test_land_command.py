"""``make land SOURCE=... DATE=...`` (``python -m orchestration.land``) end to end in a temporary
data folder: one source's files of one date land through ``landing_job`` in the ``$DAGSTER_HOME``
instance, the counts per table are printed, and the printed query commands work. A bad source or
date stops with one line naming what is valid, before anything is written."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from pyiceberg.exceptions import NoSuchTableError

from ingestion.landing.contract import DEFAULT_CONTRACTS_DIR
from lakehouse.catalog import get_catalog
from lakehouse.paths import REPO_ROOT
from lakehouse.settings import Settings
from orchestration.land import main
from orchestration.partitions import business_date_partitions

DAY = "2024-01-03"
ACME = """\
description: A second sender, to show that only the requested source lands.
tables:
  - name: orders
    primary_key: [order_id]
    columns:
      - {name: order_id, type: bigint, nullable: false}
"""
UNMATCHED = (
    "unknown table 'shelves': the file name 'shelves.csv' matches no declared table's patterns "
    "(stores: stores.*, stores-*). Rename the file or declare its table in the source's contract"
)


@pytest.fixture
def landed(lakehouse_env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    contracts = tmp_path / "contracts"
    contracts.mkdir()
    shutil.copy(DEFAULT_CONTRACTS_DIR / "partners.yml", contracts)
    (contracts / "acme.yml").write_text(ACME)
    monkeypatch.setenv("LANDING_CONTRACTS_DIR", str(contracts))
    files = {
        "partners/stores.csv": "store_id,store_name,city,opened_on\n"
        "1,Main Street,Lyon,2020-01-02\n2,Harbour,Nantes,\nx,Bad key,Paris,\n",
        "partners/stores-eu.csv": "store_id,store_name\n3,Airport\n",
        "partners/shelves.csv": "shelf_id\n1\n",
        "acme/orders.csv": "order_id\n1\n2\n",
    }
    for name, text in files.items():
        source, file_name = name.split("/")
        folder = lakehouse_env.data_dir / "landing" / source / DAY
        folder.mkdir(parents=True, exist_ok=True)
        (folder / file_name).write_text(text)
    return lakehouse_env


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO_ROOT, capture_output=True, text=True
    )


def test_land_loads_one_source_for_one_date_and_says_where_to_look(defs, landed: Settings):
    result = run("orchestration.land", "--source", "partners", "--date", DAY)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert f"Landing partners for {DAY}: 3 file(s) in {landed.data_dir}/landing/partners/" in lines
    rows = {line.split()[0]: line.split()[1:3] for line in lines if line.startswith("  partners_")}
    assert rows == {"partners_stores": ["3", "1"], "partners_shelves": ["-", "1"]}
    reasons = lines[lines.index("Quarantine reasons (rows):") + 1 :][:2]
    assert sorted(line.split(None, 1) for line in reasons) == [
        ["1", "column 'store_id': 'x' is not a valid int64"],
        ["1", UNMATCHED],
    ]

    catalog = get_catalog(landed)
    stores = catalog.load_table("raw.partners_stores").scan().to_arrow()
    assert sorted(stores["store_id"].to_pylist()) == [1, 2, 3]
    with pytest.raises(NoSuchTableError):  # the other source was not asked for
        catalog.load_table("raw.acme_orders")

    with dg.DagsterInstance.get() as instance:  # the run is in $DAGSTER_HOME's instance
        (record,) = instance.get_run_records()
    assert record.dagster_run.job_name == "landing_job"
    assert record.dagster_run.tags["dagster/partition"] == DAY
    assert record.dagster_run.run_config["ops"]["landing"]["config"] == {"sources": ["partners"]}

    # Landing the date again loads nothing twice, and says so.
    again = run("orchestration.land", "--source", "partners", "--date", DAY)
    assert again.returncode == 0, again.stderr
    assert [line.split() for line in again.stdout.splitlines() if line.startswith("  part")] == [
        ["partners_stores", "0", "0"]
    ]
    assert (
        "Nothing new: the date has no files, or each was loaded before (a file loads once; "
        "a changed file loads again)."
    ) in again.stdout.splitlines()

    # The printed query commands work (make sql SQL=... runs lakehouse.sql --sql ...).
    queries = [line.split('make sql SQL="', 1)[1][:-1] for line in lines if "make sql" in line]
    assert len(queries) == 2
    table = run("lakehouse.sql", "--sql", queries[0])
    assert table.returncode == 0 and "Main Street" in table.stdout and "Harbour" in table.stdout
    quarantine = run("lakehouse.sql", "--sql", queries[1])
    assert quarantine.returncode == 0, quarantine.stderr
    assert UNMATCHED in quarantine.stdout and "x,Bad key,Paris," in quarantine.stdout


def _bad_date(day: str) -> str:
    return (
        f"error: business date {day!r} is not a partition: valid dates are 2024-01-01 to "
        f"{business_date_partitions.get_last_partition_key()} (UTC; a day becomes valid once it "
        "has ended)\n"
    )


@pytest.mark.parametrize(
    ("source", "day", "message"),
    [
        (
            "acme",
            DAY,
            "error: unknown landing source 'acme': the declared sources are partners "
            f"(contract files in {DEFAULT_CONTRACTS_DIR})\n",
        ),
        ("partners", "2023-12-31", _bad_date("2023-12-31")),
        ("partners", "2024-1-5", _bad_date("2024-1-5")),
        ("partners", "2999-01-01", _bad_date("2999-01-01")),
    ],
)
def test_a_bad_source_or_date_is_one_line_and_writes_nothing(
    lakehouse_env: Settings, capsys: pytest.CaptureFixture[str], source, day, message
):
    assert main(["--source", source, "--date", day]) == 2
    captured = capsys.readouterr()
    assert captured.err == message and captured.out == ""
    assert not lakehouse_env.data_dir.exists()
    assert not any(Path(lakehouse_env.data_dir.parent / "dagster").iterdir())


def test_a_missing_contracts_folder_is_one_line(
    lakehouse_env: Settings, tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("LANDING_CONTRACTS_DIR", str(tmp_path / "nowhere"))
    assert main(["--source", "partners", "--date", DAY]) == 2
    assert capsys.readouterr().err == (
        f"error: landing contracts folder {tmp_path}/nowhere does not exist (set "
        "LANDING_CONTRACTS_DIR to the folder of <source>.yml files, or unset it for the "
        "project's own)\n"
    )
    assert not lakehouse_env.data_dir.exists()
