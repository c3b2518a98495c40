"""``python -m ingestion.landing contract FILE``: a contract proposed from a realistic sample
validates as a contract file, and landing the sample with it loads every row."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from ingestion.landing import landing, last_run_report
from ingestion.landing.__main__ import main
from ingestion.landing.contract import load_sources
from ingestion.pipeline import make_pipeline
from lakehouse.catalog import get_catalog
from lakehouse.paths import REPO_ROOT
from lakehouse.settings import Settings

DAY = "2024-01-02"
START = datetime(2024, 1, 2, 8, 0, tzinfo=UTC)
STATUSES = ("placed", "paid", "shipped", "delivered", "cancelled")


def orders_csv(rows: int = 300) -> str:
    """A webshop export: repeated customers, money with two decimals, a quoted comma, blanks."""
    lines = ["order_id,customer_id,amount,currency,status,ordered_at,delivered_on,is_gift,note"]
    for n in range(1, rows + 1):
        at = START + timedelta(minutes=7 * n)
        stamp = at.isoformat() if n % 2 else at.strftime("%Y-%m-%dT%H:%M:%SZ")
        delivered = (at.date() + timedelta(days=3)).isoformat() if n % 3 else ""
        note = '"Leave at the door, please"' if n % 10 == 0 else ""
        lines.append(
            f"{n},{n % 37 + 1},{n * 3 % 200 + 0.5:.2f},EUR,{STATUSES[n % 5]},{stamp},"
            f"{delivered},{'true' if n % 7 == 0 else 'false'},{note}"
        )
    return "\n".join(lines) + "\n"


def web_events_jsonl(rows: int = 250) -> str:
    """Clickstream events: the first *_id repeats, nested context and tags, mostly-null referrer."""
    events = []
    for n in range(rows):
        at = START + timedelta(seconds=13 * n)
        events.append(
            {
                "user_id": n % 40,
                "request_id": f"req-{n:05d}",
                "occurred_at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "path": f"/products/{n % 25}",
                "duration_ms": 20 + n % 900,
                "referrer": "https://search.example/" if n % 9 == 0 else None,
                "context": {"ua": "Mozilla/5.0", "ip": f"10.0.0.{n % 255}"},
                "tags": ["promo"] if n % 4 == 0 else [],
            }
        )
    return "".join(json.dumps(event) + "\n" for event in events)


def payments_table(rows: int = 200) -> pa.Table:
    """A billing system's Parquet export with narrow ints, decimals and millisecond timestamps."""
    return pa.table(
        {
            "payment_id": pa.array(range(1, rows + 1), pa.int32()),
            "order_id": pa.array([n // 2 for n in range(rows)], pa.int64()),
            "amount": pa.array([Decimal(n) / 4 for n in range(rows)], pa.decimal128(10, 2)),
            "method": [("card", "paypal", "voucher")[n % 3] for n in range(rows)],
            "paid_at": pa.array(
                [datetime(2024, 1, 2, 9) + timedelta(seconds=n) for n in range(rows)],
                pa.timestamp("ms"),
            ),
            "settled_on": pa.array([date(2024, 1, 3)] * rows, pa.date32()),
            "refunded": [n % 11 == 0 for n in range(rows)],
        }
    )


def land_sample(tmp_path: Path, source: str, name: str) -> Path:
    folder = tmp_path / "landing" / source / DAY
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if name.endswith(".parquet"):
        pq.write_table(payments_table(), path)
    elif name.endswith(".jsonl"):
        path.write_text(web_events_jsonl())
    elif name.endswith(".csv.gz"):
        path.write_bytes(gzip.compress(orders_csv().encode()))
    else:
        path.write_text(orders_csv())
    return path


def propose(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["contract", *args]) == 0
    return capsys.readouterr().out


# sample -> (source, table, rows, proposed (column, type, nullable), primary key)
SAMPLES = {
    "orders-2024-01-02.csv": (
        "shop_eu",
        "orders",
        300,
        [
            ("order_id", "bigint", False),
            ("customer_id", "bigint", True),
            ("amount", "double", True),
            ("currency", "string", True),
            ("status", "string", True),
            ("ordered_at", "timestamp", True),
            ("delivered_on", "date", True),
            ("is_gift", "boolean", True),
            ("note", "string", True),
        ],
        ["order_id"],
    ),
    "web_events.jsonl": (
        "web",
        "web_events",
        250,
        [
            ("user_id", "bigint", True),  # *_id but repeated: not the key
            ("request_id", "string", False),
            ("occurred_at", "timestamp", True),
            ("path", "string", True),
            ("duration_ms", "bigint", True),
            ("referrer", "string", True),
        ],
        ["request_id"],
    ),
    "payments.parquet": (
        "billing",
        "payments",
        200,
        [
            ("payment_id", "int", False),
            ("order_id", "bigint", True),
            ("amount", "decimal(10,2)", True),
            ("method", "string", True),
            ("paid_at", "timestamp", True),
            ("settled_on", "date", True),
            ("refunded", "boolean", True),
        ],
        ["payment_id"],
    ),
}


@pytest.mark.parametrize("name", SAMPLES)
def test_a_proposed_contract_validates_and_lands_every_sample_row(
    name: str, lakehouse_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source, table, rows, columns, key = SAMPLES[name]
    sample = land_sample(tmp_path, source, name)
    text = propose(capsys, str(sample))  # source from the landing layout, table from the name

    header = [line for line in text.splitlines() if line.startswith("#")]
    assert header[0] == (f"# Landing contract proposed from the sample {name} ({rows:,} rows) by")
    assert f"# Primary key: {key[0]} (unique and non-null in the sample)." in header
    assert f"# Save it as ingestion/landing/contracts/{source}.yml (or add the table to that" in (
        header
    )
    proposed = yaml.safe_load(text)["tables"][0]
    assert proposed["name"] == table and proposed["files"] == [f"{table}.*", f"{table}-*"]
    assert [(c["name"], c["type"], c["nullable"]) for c in proposed["columns"]] == columns
    assert proposed["primary_key"] == key

    landed = save_and_land(text, source, table, lakehouse_env, tmp_path)
    assert landed.num_rows == rows
    assert landed[key[0]].unique().to_pylist() == landed[key[0]].to_pylist()


def save_and_land(
    text: str, source: str, table: str, settings: Settings, tmp_path: Path
) -> pa.Table:
    """Save the proposal as the reviewer would, load it as a contract file and land the
    sample's folder with it: every row must land, none be quarantined."""
    folder = tmp_path / "contracts"
    folder.mkdir()
    (folder / f"{source}.yml").write_text(text)
    contracts = load_sources(folder)[source].table_contracts()
    pipeline = make_pipeline(settings, name=f"landing_{source}")
    pipeline.run(landing(str(tmp_path / "landing"), source, contracts, DAY))
    report = last_run_report(pipeline, source)
    landed = get_catalog(settings).load_table(f"raw.{source}_{table}").scan().to_arrow()
    assert report["rows_by_table"] == {f"{source}_{table}": landed.num_rows}
    assert report.get("rows_quarantined", 0) == 0
    return landed


def test_dates_and_timestamps_not_in_iso_8601_are_proposed_as_strings(
    lakehouse_env: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """DuckDB recognises 02/01/2024-style values; the landing reader reads ISO 8601 only."""
    folder = tmp_path / "landing" / "partners" / DAY
    folder.mkdir(parents=True)
    (folder / "stores.csv").write_text(
        "store_id,opened_on,refitted_at,updated_at\n"
        + "".join(
            f"{n},0{n}/01/2024,0{n}/02/2024 10:30:00,2024-03-0{n}T08:00:00Z\n" for n in range(1, 10)
        )
    )
    text = propose(capsys, str(folder / "stores.csv"))
    assert [line for line in text.splitlines() if line.startswith("# Typed as string")] == [
        "# Typed as string: opened_on: '01/01/2024' is not ISO 8601, which the landing reader "
        "needs for a date.",
        "# Typed as string: refitted_at: '01/02/2024 10:30:00' is not ISO 8601, which the "
        "landing reader needs for a timestamp.",
    ]
    proposed = yaml.safe_load(text)["tables"][0]
    assert [(c["name"], c["type"]) for c in proposed["columns"]] == [
        ("store_id", "bigint"),
        ("opened_on", "string"),
        ("refitted_at", "string"),
        ("updated_at", "timestamp"),
    ]
    landed = save_and_land(text, "partners", "stores", lakehouse_env, tmp_path)
    assert landed.num_rows == 9
    assert sorted(landed["opened_on"].to_pylist())[0] == "01/01/2024"


def test_nested_json_values_are_left_undeclared_and_said_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = propose(capsys, str(land_sample(tmp_path, "web", "web_events.jsonl")))
    assert (
        "# Not declared: context: struct<ua: string, ip: string> has no contract type; it lands "
        "as an undeclared column."
    ) in text.splitlines()
    assert (
        "# Not declared: tags: list<l: string> has no contract type; it lands as an undeclared "
        "column."
    ) in text.splitlines()


def test_a_gzip_sample_gives_the_same_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = propose(capsys, str(land_sample(tmp_path, "shop_eu", "orders-1.csv")))
    packed = propose(capsys, str(land_sample(tmp_path, "shop_eu", "orders-1.csv.gz")))
    assert yaml.safe_load(packed) == yaml.safe_load(plain)
    assert packed.replace("orders-1.csv.gz", "orders-1.csv") == plain


def test_names_can_be_given_and_a_table_without_a_unique_id_gets_no_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sample = tmp_path / "export.csv"
    sample.write_text("store_id,day,total\n1,2024-01-01,10.5\n1,2024-01-02,11\n2,2024-01-01,3\n")
    text = propose(capsys, str(sample), "--source", "partners", "--table", "daily_totals")
    assert (
        "# Primary key: none found (no id or *_id column is unique and non-null in the sample)."
    ) in text.splitlines()
    assert "# Save it as ingestion/landing/contracts/partners.yml (or add the table to that" in text
    proposed = yaml.safe_load(text)["tables"][0]
    assert proposed["name"] == "daily_totals" and proposed["primary_key"] == []
    assert [(c["name"], c["type"]) for c in proposed["columns"]] == [
        ("store_id", "bigint"),
        ("day", "date"),
        ("total", "double"),
    ]


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        (
            "stores.csv",
            "store_id;city\n1;Lyon\n2;Nantes\n",
            "the sample looks ';'-separated, but landed CSV files must be ','-separated: "
            "re-export it with commas",
        ),
        ("stores.csv", "store_id,city\n", "the sample has no rows to infer a contract from"),
        (
            "stores.xlsx",
            "PK",
            "unsupported file type; samples are .csv, .json, .jsonl, .ndjson, .parquet files, "
            "optionally .gz-compressed (not Parquet)",
        ),
    ],
)
def test_a_sample_that_cannot_give_a_contract_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, content: str, problem: str
) -> None:
    sample = tmp_path / name
    sample.write_text(content)
    assert main(["contract", str(sample)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"error: {sample}: {problem}\n"


def test_the_command_prints_only_yaml_on_stdout(tmp_path: Path) -> None:
    sample = land_sample(tmp_path, "billing", "payments.parquet")
    result = subprocess.run(
        [sys.executable, "-m", "ingestion.landing", "contract", str(sample)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.startswith("# Landing contract proposed from the sample payments.parquet")
    assert yaml.safe_load(result.stdout)["tables"][0]["primary_key"] == ["payment_id"]
