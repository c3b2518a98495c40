"""Propose a landing contract from a sample file (``python -m ingestion.landing contract FILE``).

DuckDB reads the sample (CSV, also gzip-compressed, JSON lines or Parquet) and infers the column
types. Its inference is held to what the landing reader accepts: CSV must be comma-separated, and
a date or timestamp column whose text DuckDB's ISO 8601 cast rejects (say ``02/01/2024``) is
proposed as a string. The key candidate is the first column named ``id`` or ``*_id`` (the
table's own ``<table>_id`` first) whose sampled values are unique and non-null. The result is
YAML for a person to review: a sample shows which values occur, not which may.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from ingestion.landing import column_types, settings
from ingestion.landing.contract import IDENTIFIER, SourceContract
from ingestion.landing.naming import default_patterns, file_stem

COMPRESSIONS = (".gz",)  # DuckDB reads gzip-compressed CSV and JSON lines itself
ISO_CASTS = {"date": "DATE", "timestamp": "TIMESTAMPTZ"}  # DuckDB casts text as ISO 8601


class SampleError(ValueError):
    """The sample cannot be read or cannot give a contract; the message says why."""


@dataclass(frozen=True)
class Proposal:
    source: str
    table: str
    sample: Path
    rows: int
    contract: SourceContract
    notes: list[str]  # columns typed as text or left out, and why

    def to_yaml(self) -> str:
        """The proposal as a contract file, with a header comment saying what to review."""
        key = self.contract.tables[0].primary_key
        header = [
            f"Landing contract proposed from the sample {self.sample.name} ({self.rows:,} rows) by",
            "`python -m ingestion.landing contract`. Review it before you save it:",
            "  - the types come from the sample, which shows which values occur, not which may;",
            "  - every column but the key is nullable: mark required columns nullable: false;",
            "  - the descriptions are empty: say what the source, table and columns hold.",
            f"Primary key: {key[0]} (unique and non-null in the sample)."
            if key
            else "Primary key: none found (no id or *_id column is unique and non-null in the "
            "sample).",
            *self.notes,
        ]
        header += [
            f"Save it as ingestion/landing/contracts/{self.source}.yml (or add the table to that",
            "file); the format is documented in ingestion/landing/README.md.",
        ]
        body = yaml.safe_dump(
            self.contract.model_dump(mode="json"),
            sort_keys=False,
            default_flow_style=None,  # leaf lists and column entries on one line each
            allow_unicode=True,
            width=100,
        )
        return "".join(f"# {line}\n" for line in header) + body


def propose(sample: Path, source: str | None = None, table: str | None = None) -> Proposal:
    """A contract for the table ``sample`` holds (source and table names guessed if not given)."""
    if not sample.is_file():
        raise SampleError(f"{sample}: no such file")
    table = table or _identifier(file_stem(sample.name))
    source = source or _source_from_layout(sample) or table
    for kind, name in (("source", source), ("table", table)):
        if not re.fullmatch(IDENTIFIER, name):
            raise SampleError(
                f"the {kind} name {name!r} must be lower-case letters, digits and _: pass --{kind}"
            )
    kind = _format(sample)
    conn = duckdb.connect()
    try:
        relation = _read(conn, sample, kind)
        rows = relation.aggregate("count(*)").fetchone()[0]
        if not rows:
            raise SampleError(f"{sample}: the sample has no rows to infer a contract from")
        schema = relation.limit(0).to_arrow_table().schema
        declared = {f.name: column_types.from_arrow(f.type) for f in schema}
        notes = [
            f"Not declared: {f.name}: {f.type} has no contract type; it lands as an undeclared "
            "column."
            for f in schema
            if declared[f.name] is None
        ]
        for name, example in _not_iso(conn, sample, kind, declared).items():
            notes.append(
                f"Typed as string: {name}: {example!r} is not ISO 8601, which the landing reader "
                f"needs for a {declared[name]}."
            )
            declared[name] = "string"
        key = _key_candidate(relation, table, [n for n, t in declared.items() if t], rows)
    except duckdb.Error as exc:
        raise SampleError(f"{sample}: DuckDB cannot read the sample: {exc}") from None
    finally:
        conn.close()
    columns = [
        {"name": name, "type": type_, "nullable": name != key, "description": ""}
        for name, type_ in declared.items()
        if type_
    ]
    if not columns:
        raise SampleError(f"{sample}: no column has a type a contract can declare")
    table_spec = {
        "name": table,
        "description": "",
        "files": list(default_patterns(table)),
        "primary_key": [key] if key else [],
        "columns": columns,
    }
    contract = SourceContract.model_validate({"description": "", "tables": [table_spec]})
    return Proposal(source, table, sample, rows, contract, notes)


def _format(sample: Path) -> str:
    name = sample.name.lower()
    for suffix in COMPRESSIONS:
        name = name.removesuffix(suffix)
    kind = settings.FORMATS.get(Path(name).suffix)
    if kind is None or (kind == "parquet" and name != sample.name.lower()):
        raise SampleError(
            f"{sample}: unsupported file type; samples are {', '.join(sorted(settings.FORMATS))} "
            "files, optionally .gz-compressed (not Parquet)"
        )
    return kind


def _read(
    conn: duckdb.DuckDBPyConnection, sample: Path, kind: str, as_text: list[str] | None = None
) -> duckdb.DuckDBPyRelation:
    """The sample with inferred types, or only the ``as_text`` columns, as their text."""
    path = str(sample)
    if kind == "parquet":
        return conn.read_parquet(path)
    if kind == "jsonl":
        columns = {name: "VARCHAR" for name in as_text} if as_text else None
        return conn.read_json(path, format="newline_delimited", columns=columns)
    delimiter = conn.execute("select Delimiter from sniff_csv(?)", [path]).fetchone()[0]
    if delimiter != settings.CSV_DELIMITER:
        raise SampleError(
            f"{sample}: the sample looks {delimiter!r}-separated, but landed CSV files must be "
            f"{settings.CSV_DELIMITER!r}-separated: re-export it with commas"
        )
    return conn.read_csv(path, header=True, sep=settings.CSV_DELIMITER, all_varchar=bool(as_text))


def _not_iso(
    conn: duckdb.DuckDBPyConnection, sample: Path, kind: str, declared: dict[str, str | None]
) -> dict[str, str]:
    """Date and timestamp columns with a sampled text value DuckDB's ISO 8601 cast rejects,
    each with that value (Parquet values are typed already)."""
    temporal = {name: t for name, t in declared.items() if t in ISO_CASTS}
    if kind == "parquet" or not temporal:
        return {}
    text = _read(conn, sample, kind, as_text=list(temporal))
    found = {}
    for name, type_ in temporal.items():
        column = _quoted(name)
        bad = text.filter(
            f"{column} IS NOT NULL AND try_cast({column} AS {ISO_CASTS[type_]}) IS NULL"
        )
        example = bad.project(column).limit(1).fetchone()
        if example:
            found[name] = example[0]
    return found


def _key_candidate(
    relation: duckdb.DuckDBPyRelation, table: str, columns: list[str], rows: int
) -> str | None:
    """The first ``id``/``*_id`` column (``<table>_id`` first) unique and non-null in the sample."""
    own = {f"{table}_id", f"{table.removesuffix('s')}_id", "id"}
    named = [c for c in columns if c.lower() == "id" or c.lower().endswith("_id")]
    for name in sorted(named, key=lambda c: c.lower() not in own):
        column = _quoted(name)
        distinct, non_null = relation.aggregate(
            f"count(distinct {column}), count({column})"
        ).fetchone()
        if distinct == non_null == rows:
            return name
    return None


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _identifier(name: str) -> str:
    """A file stem as a table name: lower case, anything but letters and digits as ``_``."""
    text = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
    return text if re.fullmatch(IDENTIFIER, text) else f"t_{text}" if text else "table"


def _source_from_layout(sample: Path) -> str | None:
    """``<source>`` when the sample sits in the landing layout ``<source>/<yyyy-mm-dd>/``."""
    parent = sample.resolve().parent
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", parent.name):
        return _identifier(parent.parent.name)
    return None
