"""Reading, validating and fingerprinting landed files (no dlt here: plain fsspec + pyarrow).

Every problem becomes a :class:`Rejection` with a reason a person can act on; nothing raises out
of :func:`read_file`, so one bad file or row never stops a run or costs the good rows.

Policy:

* file-level problems (empty, unreadable, truncated Parquet, wrong delimiter, unknown table) reject
  the file: one quarantine record with no line number;
* batch-level schema drift (a required column missing, a Parquet column whose type changed)
  rejects every row of the file, each with the same message;
* row-level problems (wrong field count, not UTF-8, bad JSON, a value of the wrong type, a null
  key or required value, a duplicate key, a huge field) reject that row only;
* columns that are not in the contract are kept (raw evolves): text values as strings, Parquet
  values with their own type.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import PurePosixPath
from typing import Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.landing import settings

_INT_RE = re.compile(r"[+-]?\d+")
# Huge fields are read whole and quarantined with a clear message, not cut off by the csv module.
csv.field_size_limit(max(csv.field_size_limit(), 1 << 28))


@dataclass(frozen=True)
class TableContract:
    """The declared schema of one landed table. Non-nullable fields are required."""

    schema: pa.Schema
    primary_key: tuple[str, ...] = ()
    files: tuple[str, ...] = ()  # file name patterns; none: <table>.* and <table>-* (naming.py)

    @property
    def required(self) -> list[str]:
        return [f.name for f in self.schema if not f.nullable or f.name in self.primary_key]


@dataclass(frozen=True)
class LandedFile:
    path: str  # as fsspec lists it (no protocol)
    url: str  # what the quarantine and the ledger record
    ingest_date: str
    table: str
    format: str | None
    fingerprint: str  # size + etag (object stores) or mtime (local files)
    problem: str | None = None  # why the file is rejected whole (naming.py: no single table)


@dataclass(frozen=True)
class Rejection:
    file: str
    line: int | None
    reason: str
    record: str | None = None


@dataclass
class FileResult:
    rows: pa.Table | None = None
    rejections: list[Rejection] = field(default_factory=list)


# --- discovery -------------------------------------------------------------------------------
def list_files(
    root: str, source: str, ingest_date: str | None, storage_options: Mapping[str, Any] | None
) -> Iterator[LandedFile]:
    """Files under ``<root>/<source>/<ingest_date>/`` (every date folder if none), sorted."""
    fs, base = fsspec.core.url_to_fs(root, **(storage_options or {}))
    protocol = fs.protocol[0] if isinstance(fs.protocol, tuple | list) else fs.protocol
    prefix = f"{base.rstrip('/')}/{source}"
    dates = [ingest_date] if ingest_date else sorted(_child_names(fs, prefix))
    for day in dates:
        folder = f"{prefix}/{day}"
        if not fs.exists(folder):
            continue
        for info in sorted(fs.ls(folder, detail=True), key=lambda i: i["name"]):
            if info.get("type") != "file":
                continue
            path = info["name"]
            name = PurePosixPath(path).name
            suffix = PurePosixPath(name).suffix.lower()
            table = re.split(r"[-.]", name, maxsplit=1)[0]
            version = (
                info.get("ETag")
                or info.get("etag")
                or info.get("mtime")
                or info.get("LastModified", "")
            )
            yield LandedFile(
                path=path,
                url=path if protocol in ("file", "local") else f"{protocol}://{path}",
                ingest_date=day,
                table=table,
                format=settings.FORMATS.get(suffix),
                fingerprint=f"{info.get('size')}:{str(version).strip(chr(34))}",
            )


def _child_names(fs: fsspec.AbstractFileSystem, prefix: str) -> list[str]:
    if not fs.exists(prefix):
        return []
    return [
        PurePosixPath(i["name"]).name
        for i in fs.ls(prefix, detail=True)
        if i["type"] == "directory"
    ]


# --- reading ---------------------------------------------------------------------------------
def read_file(
    landed: LandedFile, contract: TableContract, fs_options: Mapping[str, Any] | None = None
) -> FileResult:
    """Parse and validate one file against its contract; never raises for bad data."""
    reject = FileResult()
    if landed.format is None:
        reject.rejections.append(
            Rejection(
                landed.url,
                None,
                f"unsupported file type '{PurePosixPath(landed.path).suffix}': "
                f"land {', '.join(sorted(settings.FORMATS))} files",
            )
        )
        return reject
    fs, _ = fsspec.core.url_to_fs(landed.url, **(fs_options or {}))
    with fs.open(landed.path, "rb") as handle:
        payload = handle.read()
    if not payload.strip():
        reject.rejections.append(
            Rejection(
                landed.url, None, "empty file: the sender delivered no data; ask for a resend"
            )
        )
        return reject
    if landed.format == "parquet":
        return _read_parquet(landed.url, payload, contract)
    text = payload.decode(settings.ENCODING, errors="surrogateescape").removeprefix("\ufeff")
    if landed.format == "csv":
        records = _csv_records(landed.url, text, contract)
    else:
        records = _jsonl_records(landed.url, text)
    return _validate(landed.url, records, contract)


# A record before validation: (line, {column: value} or a Rejection, raw text for the quarantine).
Record = tuple[int, dict[str, Any] | Rejection, str]


def _csv_records(url: str, text: str, contract: TableContract) -> Iterator[Record] | Rejection:
    reader = csv.reader(io.StringIO(text), delimiter=settings.CSV_DELIMITER, strict=False)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        return Rejection(url, 1, f"unreadable CSV header: {exc}")
    header = [h.strip() for h in header]
    if len(header) == 1 and len(contract.schema) > 1:
        used = [d for d in settings.SUSPECT_DELIMITERS if d in header[0]]
        hint = f"it looks {used[0]!r}-separated" if used else "it has a single column"
        return Rejection(
            url,
            1,
            f"wrong delimiter: expected {settings.CSV_DELIMITER!r}-separated columns but {hint}; "
            "re-export with commas",
            header[0][: settings.RECORD_PREVIEW_CHARS],
        )

    def records() -> Iterator[Record]:
        lines = text.splitlines()
        while True:
            line = reader.line_num + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # e.g. a NUL byte
                yield line, Rejection(url, line, f"unreadable CSV row: {exc}"), ""
                continue
            raw = lines[reader.line_num - 1] if reader.line_num - 1 < len(lines) else ""
            if not values:
                continue  # blank line
            if len(values) != len(header):
                reason = f"expected {len(header)} fields (as the header), got {len(values)}: " + (
                    "truncated or missing values" if len(values) < len(header) else "extra values"
                )
                yield line, Rejection(url, line, reason, raw), raw
                continue
            yield (
                line,
                {h: (v if v != "" else None) for h, v in zip(header, values, strict=True)},
                raw,
            )

    _missing = _missing_required(header, contract)
    if _missing:
        return _batch_rejection(url, records(), _missing)
    return records()


def _jsonl_records(url: str, text: str) -> Iterator[Record]:
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            value = json.loads(raw)
        except ValueError as exc:
            yield line, Rejection(url, line, f"invalid JSON (truncated line?): {exc}", raw), raw
            continue
        if not isinstance(value, dict):
            yield line, Rejection(url, line, "a JSON line must be an object", raw), raw
            continue
        yield line, value, raw


def _missing_required(columns: list[str], contract: TableContract) -> list[str]:
    return [name for name in contract.required if name not in columns]


def _batch_rejection(url: str, records: Iterator[Record], missing: list[str]) -> Iterator[Record]:
    reason = (
        f"schema drift: required column(s) {', '.join(missing)} missing; the whole batch is "
        "quarantined. Fix the export (or the contract) and land the file again"
    )
    for line, _, raw in records:
        yield line, Rejection(url, line, reason, raw), raw


def _read_parquet(url: str, payload: bytes, contract: TableContract) -> FileResult:
    result = FileResult()
    try:
        table = pq.read_table(pa.BufferReader(payload))
    except (pa.ArrowException, OSError) as exc:
        result.rejections.append(
            Rejection(url, None, f"not a readable Parquet file (truncated?): {exc}")
        )
        return result
    missing = _missing_required(table.column_names, contract)
    changed = []
    for declared in contract.schema:
        if declared.name in table.column_names:
            actual = table.schema.field(declared.name).type
            if actual != declared.type and not _safe_cast(table[declared.name], declared.type):
                changed.append(f"{declared.name} is {actual}, declared {declared.type}")
    if missing or changed:
        problems = []
        if missing:
            problems.append(f"required column(s) {', '.join(missing)} missing")
        if changed:
            problems.append(f"type changed: {'; '.join(changed)}")
        reason = (
            f"schema drift: {'; '.join(problems)}; the whole batch is quarantined. Fix the export "
            "(or the contract) and land the file again"
        )
        result.rejections.extend(
            Rejection(url, n, reason, _preview(row))
            for n, row in enumerate(table.to_pylist(), start=1)
        )
        if not table.num_rows:
            result.rejections.append(Rejection(url, None, reason))
        return result
    for declared in contract.schema:  # widen safely castable columns to the declared type
        if declared.name in table.column_names:
            index = table.column_names.index(declared.name)
            table = table.set_column(index, declared.name, table[declared.name].cast(declared.type))
    extras = [f for f in table.schema if f.name not in contract.schema.names]
    records = ((n, row, _preview(row)) for n, row in enumerate(table.to_pylist(), start=1))
    return _validate(url, records, contract, extra_fields=extras, typed=True)


def _safe_cast(column: pa.ChunkedArray, target: pa.DataType) -> bool:
    try:
        column.cast(target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return False
    return True


# --- validation ------------------------------------------------------------------------------
def _validate(
    url: str,
    records: Iterator[Record] | Rejection,
    contract: TableContract,
    *,
    extra_fields: list[pa.Field] | None = None,
    typed: bool = False,
) -> FileResult:
    result = FileResult()
    if isinstance(records, Rejection):
        result.rejections.append(records)
        return result
    declared = {f.name: f for f in contract.schema}
    extras: dict[str, pa.Field] = {f.name: f for f in extra_fields or []}
    good: list[dict[str, Any]] = []
    seen_keys: dict[tuple, int] = {}
    for line, record, raw in records:
        if isinstance(record, Rejection):
            result.rejections.append(record)
            continue
        try:
            row = _convert_row(record, declared, extras, contract, typed)
            if contract.primary_key:
                key = tuple(row[k] for k in contract.primary_key)
                if key in seen_keys:
                    raise ValueError(
                        f"duplicate key {_key_text(contract, key)}: first seen on line "
                        f"{seen_keys[key]} of this file"
                    )
                seen_keys[key] = line
        except ValueError as exc:
            result.rejections.append(
                Rejection(url, line, str(exc), raw[: settings.RECORD_PREVIEW_CHARS])
            )
            continue
        good.append(row)
    schema = pa.schema([*contract.schema, *extras.values()])
    result.rows = pa.Table.from_pylist(good, schema=schema)
    return result


def _convert_row(
    record: dict[str, Any],
    declared: dict[str, pa.Field],
    extras: dict[str, pa.Field],
    contract: TableContract,
    typed: bool,
) -> dict[str, Any]:
    row: dict[str, Any] = {}
    for name, value in record.items():
        if isinstance(value, str) and any("\udc80" <= ch <= "\udcff" for ch in value):
            raise ValueError(
                f"column '{name}' is not valid {settings.ENCODING} (wrong encoding?): re-export "
                f"the file as {settings.ENCODING}"
            )
        if isinstance(value, str) and len(value) > settings.MAX_FIELD_CHARS:
            raise ValueError(
                f"column '{name}' holds {len(value):,} characters, over the "
                f"{settings.MAX_FIELD_CHARS:,} limit"
            )
        target = declared.get(name)
        if target is None:  # a new column: raw evolves
            if name not in extras:
                extras[name] = pa.field(name, pa.string())
            if not typed and value is not None and not isinstance(value, str):
                value = json.dumps(value) if isinstance(value, dict | list) else str(value)
            row[name] = value
            continue
        row[name] = value if typed else _convert(name, value, target.type)
    for name in contract.required:
        if row.get(name) is None:
            kind = "key" if name in contract.primary_key else "required"
            raise ValueError(f"{kind} column '{name}' is null or missing")
    return row


def _key_text(contract: TableContract, key: tuple) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in zip(contract.primary_key, key, strict=True))


def _convert(name: str, value: Any, type_: pa.DataType) -> Any:
    """A text or JSON value as the declared Arrow type; ValueError says which and why."""
    if value is None:
        return None
    try:
        return _convert_value(value, type_)
    except (ValueError, TypeError, InvalidOperation, OverflowError):
        shown = value if len(str(value)) <= 40 else f"{str(value)[:40]}..."
        raise ValueError(f"column '{name}': {shown!r} is not a valid {type_}") from None


def _convert_value(value: Any, type_: pa.DataType) -> Any:
    if pa.types.is_string(type_) or pa.types.is_large_string(type_):
        if isinstance(value, dict | list):
            raise TypeError("nested value")
        return value if isinstance(value, str) else str(value)
    if pa.types.is_boolean(type_):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes", "t"):
            return True
        if text in ("false", "0", "no", "f"):
            return False
        raise ValueError(value)
    if pa.types.is_integer(type_):
        if isinstance(value, bool) or (
            isinstance(value, str) and not _INT_RE.fullmatch(value.strip())
        ):
            raise ValueError(value)
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(value)
        number = int(value)
        info = 1 << (type_.bit_width - (0 if pa.types.is_unsigned_integer(type_) else 1))
        low = 0 if pa.types.is_unsigned_integer(type_) else -info
        if not low <= number < info:
            raise OverflowError(value)
        return number
    if pa.types.is_floating(type_):
        if isinstance(value, bool):
            raise ValueError(value)
        return float(value)
    if pa.types.is_decimal(type_):
        if isinstance(value, bool | float):
            value = str(value) if not isinstance(value, bool) else "x"
        number = Decimal(str(value).strip())
        if not number.is_finite() or -number.as_tuple().exponent > type_.scale:
            raise ValueError(value)
        if (
            len(number.as_tuple().digits) - max(0, -number.as_tuple().exponent)
            > type_.precision - type_.scale
        ):
            raise OverflowError(value)
        return number
    if pa.types.is_timestamp(type_):
        stamp = value if isinstance(value, datetime) else datetime.fromisoformat(str(value).strip())
        if type_.tz is not None:
            # Naive values are taken as UTC (the project's time zone for every timestamp).
            stamp = stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)
        return stamp
    if pa.types.is_date(type_):
        return value if isinstance(value, date) else date.fromisoformat(str(value).strip())
    return pa.scalar(value, type_).as_py()


def _preview(row: Mapping[str, Any]) -> str:
    return json.dumps(row, default=str)[: settings.RECORD_PREVIEW_CHARS]
