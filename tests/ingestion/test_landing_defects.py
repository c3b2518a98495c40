"""The landing source's reproduced defects (issue 11), one landing run, one test per defect.

Each file below reproduces one defect of the reader that held whole files in memory (and split
them with ``str.splitlines``); the tests say what a person inspecting ``raw`` and the quarantine
must find instead. Run through the real pipeline into Iceberg on the embedded catalog.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import dlt
import pyarrow as pa
import pytest
import zstandard

from ingestion.landing import landing, last_run_report
from ingestion.pipeline import make_pipeline
from lakehouse.catalog import get_catalog
from lakehouse.settings import Settings
from tests.ingestion.test_landing import CONTRACTS, DAY, HEADER, SOURCE, TS, jrow, land, row, run

# 99 rows; row 10 (line 11) has one unbalanced quote: it used to swallow the 89 rows after it
STRAY_QUOTE = [row(n) for n in range(100, 199)]
STRAY_QUOTE[9] = f'109,7,"12.50,paid,{TS}\n'
STATUS_LAST = "order_id,customer_id,amount,ordered_at,status\n"
FILES = {
    "orders-stray-quote.csv": HEADER + "".join(STRAY_QUOTE),
    # cut inside the last value ('placed'), and inside an open quote: no final line break
    "orders-cut-value.csv": STATUS_LAST + f"200,7,1.00,{TS},paid\n201,7,1.00,{TS},pl",
    "orders-cut-quote.csv": STATUS_LAST + f'202,7,1.00,{TS},paid\n203,7,1.00,{TS},"paid, th',
    "orders-nul.csv": HEADER + row(204) + row(205, "completed\x00"),
    # U+2028 in a value: a line break to str.splitlines, not to csv (nor to the quarantine)
    "orders-u2028.csv": HEADER
    + row(206, "paid\u2028in full")
    + f"207,7,abc,paid,{TS}\n"
    + row(208)
    + f"209,7,xyz,paid,{TS}\n",
}
BINARY = {
    "orders-latin1.csv": (HEADER + row(220)).encode() + row(221, "Zürich").encode("latin-1"),
    "orders-gzip.csv.gz": gzip.compress((HEADER + row(210) + row(211)).encode()),
    "orders-zstd.csv.zst": zstandard.ZstdCompressor().compress(
        (HEADER + row(212) + row(213)).encode()
    ),
}


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, dict]:
    """(landed rows by id, quarantine records by (file name, line), the run's report)."""
    tmp = tmp_path_factory.mktemp("defects")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LAKEHOUSE_PROFILE", "local")
        mp.setenv("LAKEHOUSE_DATA_DIR", str(tmp / "data"))
        settings = Settings.from_env()
        land(tmp / "landing", {**{n: t.encode() for n, t in FILES.items()}, **BINARY})
        pipeline = make_pipeline(settings, name=f"landing_{SOURCE}")
        pipeline.run(landing(str(tmp / "landing"), SOURCE, CONTRACTS, ingest_date=DAY))
        catalog = get_catalog(settings)
        rows = catalog.load_table(f"raw.{SOURCE}_orders").scan().to_arrow().to_pylist()
        quarantine = catalog.load_table("raw.quarantine").scan().to_arrow().to_pylist()
        report = last_run_report(pipeline, SOURCE)
    by_id = {r["order_id"]: r for r in rows}
    assert len(by_id) == len(rows), "a row landed twice"
    return by_id, {(Path(q["file"]).name, q["line"]): q for q in quarantine}, report


def test_a_stray_quote_costs_only_its_own_line(landed) -> None:
    by_id, quarantined, _ = landed
    assert set(range(100, 199)) - {109} <= by_id.keys() and 109 not in by_id
    bad = [q for (name, _), q in quarantined.items() if name == "orders-stray-quote.csv"]
    assert [(q["line"], q["record"]) for q in bad] == [(11, STRAY_QUOTE[9].rstrip("\n"))]
    assert bad[0]["reason"].startswith("unbalanced quote")


def test_a_cut_off_last_record_is_quarantined_not_loaded(landed) -> None:
    by_id, quarantined, _ = landed
    assert {200, 202} <= by_id.keys() and not {201, 203} & by_id.keys()
    cut = quarantined["orders-cut-value.csv", 3]
    assert cut["record"] == f"201,7,1.00,{TS},pl"
    assert "does not end with a line break" in cut["reason"]
    quote = quarantined["orders-cut-quote.csv", 3]
    assert quote["record"] == f'203,7,1.00,{TS},"paid, th'
    assert "ends inside a quoted value" in quote["reason"]


def test_nul_bytes_are_quarantined(landed) -> None:
    by_id, quarantined, _ = landed
    assert 204 in by_id and 205 not in by_id
    nul = quarantined["orders-nul.csv", 3]
    assert "control character U+0000 (NUL)" in nul["reason"]
    assert nul["record"] == row(205, "completed\x00").rstrip("\n")


def test_the_quarantine_holds_each_records_exact_text(landed) -> None:
    by_id, quarantined, _ = landed
    assert by_id[206]["status"] == "paid\u2028in full" and 208 in by_id
    assert quarantined["orders-u2028.csv", 3]["record"] == f"207,7,abc,paid,{TS}"
    assert quarantined["orders-u2028.csv", 5]["record"] == f"209,7,xyz,paid,{TS}"
    # bytes that are not UTF-8 shown as \xNN, so the stored text is exact and readable
    latin1 = quarantined["orders-latin1.csv", 3]
    assert latin1["record"] == row(221, "Z\\xfcrich").rstrip("\n")
    assert "wrong encoding" in latin1["reason"]


def test_compressed_files_land(landed) -> None:
    by_id, _, _ = landed
    assert {210, 211, 212, 213} <= by_id.keys()


def test_every_row_says_which_file_and_line_it_came_from(landed) -> None:
    by_id, _, _ = landed
    lineage = {n: (Path(by_id[n]["_source_file"]).name, by_id[n]["_source_line"]) for n in by_id}
    assert lineage[100] == ("orders-stray-quote.csv", 2)
    assert lineage[110] == ("orders-stray-quote.csv", 12)  # after the quarantined line 11
    assert lineage[208] == ("orders-u2028.csv", 4)
    assert lineage[211] == ("orders-gzip.csv.gz", 3)


def test_the_report_counts_what_was_quarantined(landed) -> None:
    by_id, quarantined, report = landed
    assert report["rows_loaded"] == len(by_id)
    assert report["rows_quarantined"] == len(quarantined) == 7
    assert report["files_processed"] == len(FILES) + len(BINARY)


def test_symlinks_are_followed_and_bad_ones_quarantined(
    lakehouse_env: Settings, tmp_path: Path
) -> None:
    root = tmp_path / "landing"
    land(root, {})
    folder, outbox = root / SOURCE / DAY, tmp_path / "outbox"
    outbox.mkdir()
    (outbox / "export.csv").write_bytes((HEADER + row(300) + row(301)).encode())
    (folder / "orders-linked.csv").symlink_to(outbox / "export.csv")
    (folder / "orders-dangling.csv").symlink_to(outbox / "gone.csv")
    (folder / "orders-folder.csv").symlink_to(outbox)
    report = run(lakehouse_env, root)

    catalog = get_catalog(lakehouse_env)
    orders = catalog.load_table(f"raw.{SOURCE}_orders").scan().to_arrow().to_pylist()
    assert sorted(r["order_id"] for r in orders) == [300, 301]
    quarantine = catalog.load_table("raw.quarantine").scan().to_arrow().to_pylist()
    reasons = {Path(r["file"]).name: r["reason"] for r in quarantine}
    assert reasons.keys() == {"orders-dangling.csv", "orders-folder.csv"}
    assert reasons["orders-dangling.csv"].startswith("dangling symlink")
    assert reasons["orders-folder.csv"].startswith("a symlink to a directory")
    assert (report["files_processed"], report["rows_loaded"], report["rows_quarantined"]) == (
        3,
        2,
        2,
    )


def test_a_raw_table_landed_before_lineage_gains_its_columns(
    lakehouse_env: Settings, tmp_path: Path
) -> None:
    # the table as the reader before lineage landed it (a pipeline of its own, same table)
    before = pa.Table.from_pylist(
        [{"order_id": 1, "customer_id": 7, "ordered_at": datetime(2024, 1, 2, tzinfo=UTC)}],
        schema=CONTRACTS["orders"].schema,
    )
    make_pipeline(lakehouse_env, name="landing_before").run(
        dlt.resource([before], name=f"{SOURCE}_orders", table_format="iceberg")
    )
    land(tmp_path / "landing", {"orders.csv": (HEADER + row(2)).encode()})
    assert run(lakehouse_env, tmp_path / "landing")["rows_loaded"] == 1
    table = get_catalog(lakehouse_env).load_table(f"raw.{SOURCE}_orders")
    lineage = [f for f in table.schema().fields if f.name.startswith("_source_")]
    assert [(f.name, f.required) for f in lineage] == [
        ("_source_file", False),
        ("_source_line", False),
    ]
    rows = table.scan().to_arrow().sort_by("order_id").to_pylist()
    assert [(r["order_id"], r["_source_line"]) for r in rows] == [(1, None), (2, 2)]


# Found in review: column names that cannot become table columns once dlt normalizes them used to
# fail the whole load (and block the source's later dates) instead of quarantining the file.
COLUMN_NAMES = {
    "orders-trailing-comma.csv": (HEADER.rstrip("\n") + ",\n" + row(300).rstrip("\n") + ",\n"),
    "orders-same-names.csv": HEADER.rstrip("\n") + ",Status\n" + row(301).rstrip("\n") + ",x\n",
    "orders-keys.jsonl": jrow(302, **{"": 1}) + jrow(303),
}


def test_unusable_column_names_quarantine_the_file_not_the_run(tmp_path, lakehouse_env) -> None:
    root = tmp_path / "landing"
    land(root, {name: text.encode() for name, text in COLUMN_NAMES.items()})
    report = run(lakehouse_env, root)
    catalog = get_catalog(lakehouse_env)
    ids = catalog.load_table(f"raw.{SOURCE}_orders").scan().to_arrow()["order_id"].to_pylist()
    assert ids == [303]
    quarantine = catalog.load_table("raw.quarantine").scan().to_arrow().to_pylist()
    reasons = {(Path(q["file"]).name, q["line"]): q["reason"] for q in quarantine}
    assert "column(s) 6 have no name" in reasons["orders-trailing-comma.csv", 1]
    assert "'status' / 'Status'" in reasons["orders-same-names.csv", 1]
    assert "column(s) 6 have no name" in reasons["orders-keys.jsonl", 1]
    assert report["rows_quarantined"] == len(quarantine) == 3
    # the source is not blocked: a clean file of the next date lands
    land(root, {"orders.csv": (HEADER + row(304)).encode()}, day="2024-01-03")
    run(lakehouse_env, root, day="2024-01-03")
    table = get_catalog(lakehouse_env).load_table(f"raw.{SOURCE}_orders")
    assert sorted(table.scan().to_arrow()["order_id"].to_pylist()) == [303, 304]
