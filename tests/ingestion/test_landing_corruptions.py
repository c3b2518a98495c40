"""Realistic CSV files, damaged by a seeded generator, landed end to end (Iceberg, embedded).

For every case (a kind of damage x line ending x seed; plus the clean file) it checks that
every untouched row lands exactly once with its values and its lineage (file, first line), that
the damaged record's lines are all quarantined with their exact text and first line (a broken
multi-line record may be quarantined in pieces, never with a good row inside), and that loaded
plus quarantined accounts for every record. All cases land in one run, one file each.
"""

from __future__ import annotations

import random
from collections import defaultdict
from pathlib import Path

import pytest

from ingestion.landing import TableContract, landing, last_run_report
from ingestion.pipeline import make_pipeline
from lakehouse.catalog import get_catalog
from lakehouse.settings import Settings
from tests.ingestion.landing_corruptions import (
    COLUMNS,
    CORRUPTIONS,
    LINE_ENDINGS,
    SCHEMA,
    Damaged,
    clean_rows,
    corrupt,
    physical_lines,
)

SOURCE = "fuzz"
DAY = "2024-03-04"
SEEDS = 10
CONTRACTS = {"items": TableContract(schema=SCHEMA, primary_key=("id",))}
CASES = [
    (kind, ending, seed)
    for seed in range(SEEDS)
    for kind in (None, *CORRUPTIONS)
    for ending in LINE_ENDINGS
]


def case_files() -> dict[str, tuple[list[dict], Damaged]]:
    files = {}
    for n, (kind, ending, seed) in enumerate(CASES):
        rng = random.Random(f"{kind}-{ending!r}-{seed}")
        rows = clean_rows(rng, rng.randrange(100, 300), first_id=n * 1_000 + 1)
        name = (
            f"items-{kind or 'clean'}-{'crlf' if ending == chr(13) + chr(10) else 'lf'}-{seed}.csv"
        )
        files[name] = (rows, corrupt(rows, kind, ending, rng))
    return files


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, list, list, dict]:
    tmp = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as mp:
        for name, value in {
            "LAKEHOUSE_PROFILE": "local",
            "LAKEHOUSE_DATA_DIR": str(tmp / "data"),
            "DBT_TARGET": "local",
        }.items():
            mp.setenv(name, value)
        settings = Settings.from_env()
        folder = tmp / "landing" / SOURCE / DAY
        folder.mkdir(parents=True)
        files = case_files()
        for name, (_, damaged) in files.items():
            (folder / name).write_bytes(damaged.content)
        pipeline = make_pipeline(settings, name=f"landing_{SOURCE}")
        pipeline.run(landing(str(tmp / "landing"), SOURCE, CONTRACTS, ingest_date=DAY))
        catalog = get_catalog(settings)
        rows = catalog.load_table(f"raw.{SOURCE}_items").scan().to_arrow().to_pylist()
        quarantine = catalog.load_table("raw.quarantine").scan().to_arrow().to_pylist()
        return files, rows, quarantine, last_run_report(pipeline, SOURCE)


def covered_lines(lines: list[str], first: int, record: str) -> int:
    """How many physical lines from ``first`` the quarantined text is exactly (0: none)."""
    text = ""
    for n, line in enumerate(lines[first - 1 :], start=1):
        text += line
        if text.removesuffix("\n").removesuffix("\r") == record:
            return n
        if len(text) > len(record) + 2:
            return 0
    return 0


def case_problems(name: str, rows: list[dict], damaged: Damaged, loaded, quarantined) -> list[str]:
    problems = []
    spans = damaged.row_lines()
    expected = {
        r["id"]: (r, spans[i][0])
        for i, r in enumerate(rows)
        if i not in damaged.damaged | damaged.missing
    }
    got = defaultdict(list)
    for row in loaded:
        got[row["id"]].append(row)
    if sorted(got) != sorted(expected):
        lost = sorted(set(expected) - set(got))
        extra = sorted(set(got) - set(expected))
        problems.append(f"rows lost {lost[:10]} ({len(lost)}), loaded wrongly {extra[:10]}")
    wrong_lineage = []
    for key, copies in got.items():
        if key not in expected:
            continue
        want, first_line = expected[key]
        if len(copies) != 1:
            problems.append(f"id {key} loaded {len(copies)} times")
        values = {c: copies[0][c] for c in COLUMNS}
        if values != {c: want[c] for c in COLUMNS}:
            problems.append(f"id {key}: loaded {values}, expected {[want[c] for c in COLUMNS]}")
        source = (Path(copies[0].get("_source_file") or "").name, copies[0].get("_source_line"))
        if source != (name, first_line):
            wrong_lineage.append(f"id {key}: {source} != {(name, first_line)}")
    if wrong_lineage:
        problems.append(f"{len(wrong_lineage)} rows with wrong lineage, e.g. {wrong_lineage[0]}")

    lines = physical_lines(damaged.content)
    want_lines = {spans[i][0] + j for i in damaged.damaged for j in range(spans[i][1])}
    covered: list[int] = []
    for q in sorted(quarantined, key=lambda q: q["line"] or 0):
        n = covered_lines(lines, q["line"] or 0, q["record"] or "") if q["line"] else 0
        if not n:
            problems.append(f"quarantined line {q['line']} text {q['record']!r} is not the file's")
        covered += range(q["line"] or 0, (q["line"] or 0) + n)
        if not q["reason"]:
            problems.append(f"line {q['line']}: no reason")
    if sorted(covered) != sorted(want_lines):
        problems.append(
            f"quarantined lines {sorted(covered)}, expected the damaged rows' {sorted(want_lines)}"
        )
    return [f"{name}: {p}" for p in problems]


def test_every_untouched_row_lands_once_and_every_damaged_record_is_quarantined(landed):
    files, rows, quarantine, report = landed
    loaded_by_file = defaultdict(list)
    first_ids = {name: case[0][0]["id"] for name, case in files.items()}
    for row in rows:
        # by id range (not lineage) so a row in the wrong file shows as lost and extra
        name = next(n for n, first in first_ids.items() if first <= row["id"] < first + 1_000)
        loaded_by_file[name].append(row)
    quarantined_by_file = defaultdict(list)
    for q in quarantine:
        quarantined_by_file[Path(q["file"]).name].append(q)

    problems = []
    for name, (clean, damaged) in files.items():
        problems += case_problems(
            name, clean, damaged, loaded_by_file[name], quarantined_by_file[name]
        )
    assert not problems, "\n".join(problems[:40])
    assert report["rows_loaded"] == len(rows)
    assert report["rows_quarantined"] == len(quarantine)
    assert report["files_processed"] == len(files)
