"""Read and validate one landed file, a batch at a time; never raises for bad data.

Policy:

* file-level problems (empty, unreadable or truncated Parquet, a cut-off compressed file, wrong
  delimiter, unknown table, unsupported extension, dangling symlink) reject the file (or, for a
  compressed file cut off part way, the rest of it): one quarantine record;
* schema drift (a required column missing, a Parquet column whose type changed) rejects every
  row of the file, each with the same message;
* row-level problems (a broken or cut-off record, not UTF-8, a control character, bad JSON, a
  value of the wrong type, a null key or required value, a duplicate key, a huge field) reject
  that record only;
* columns that are not in the contract are kept (raw evolves): text values as strings, Parquet
  values with their own type.

A reader holds one batch (``BATCH_ROWS`` records, at most ``BATCH_CHARS`` of text) plus the
file's keys, never the whole file.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, BinaryIO

import fsspec

from ingestion.landing import settings
from ingestion.landing.csv_records import csv_records
from ingestion.landing.helpers import (
    EMPTY_FILE,
    Batch,
    LandedFile,
    Rejection,
    TableContract,
    column_names_problem,
    rejected_record,
)
from ingestion.landing.jsonl_records import jsonl_records
from ingestion.landing.parquet_batches import parquet_batches
from ingestion.landing.streams import open_binary
from ingestion.landing.validation import BatchValidator

Record = tuple[int, Any, str]  # (first line, values, exact text)


def read_file(
    landed: LandedFile, contract: TableContract, fs_options: Mapping[str, Any] | None = None
) -> Iterator[Batch]:
    """Batches of the file's good rows (Arrow, with lineage) and of its rejections."""
    problem = landed.problem or _unsupported(landed)
    if problem:
        yield Batch(rejections=[Rejection(landed.url, None, problem)])
        return
    fs, _ = fsspec.core.url_to_fs(landed.url, **(fs_options or {}))
    if landed.format == "parquet":
        if fs.size(landed.path) == 0:
            yield Batch(rejections=[Rejection(landed.url, None, EMPTY_FILE)])
            return
        yield from parquet_batches(fs, landed, contract)
        return
    with open_binary(fs, landed) as stream:
        if landed.format == "csv":
            yield from _csv_batches(landed.url, stream, contract)
        else:
            yield from _jsonl_batches(landed.url, stream, contract)


def _unsupported(landed: LandedFile) -> str | None:
    if landed.format is not None:
        return None
    suffixes = PurePosixPath(landed.path).suffixes
    suffix = "".join(suffixes[-2:] if landed.compression else suffixes[-1:]) or "(none)"
    return (
        f"unsupported file type '{suffix}': land {', '.join(sorted(settings.FORMATS))} files, "
        f"text ones optionally compressed ({', '.join(sorted(settings.COMPRESSIONS))})"
    )


def _csv_batches(url: str, stream: BinaryIO, contract: TableContract) -> Iterator[Batch]:
    # newline="": lines end at \n, \r or \r\n only (never U+2028) and reach csv untranslated.
    # utf-8-sig drops a BOM; bytes that are not UTF-8 are kept (as surrogates) to be reported.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    parsed = csv_records(url, text, contract)
    if isinstance(parsed, Rejection):
        yield Batch(rejections=[parsed])
        return
    header, records = parsed
    drift = _missing_required(header, contract)
    validator = BatchValidator(url, contract)
    width = len(header)
    for chunk in _chunks(records, flat=True):
        if drift:
            chunk.rejected += [
                rejected_record(url, line, drift, text)
                for line, text in zip(chunk.lines, chunk.texts, strict=True)
            ]
            yield Batch(rejections=sorted(chunk.rejected, key=_line))
            continue
        columns = {name: chunk.values[i::width] for i, name in enumerate(header)}
        batch = validator.text_batch(chunk.lines, chunk.texts, columns, empty_is_null=True)
        batch.rejections = sorted(chunk.rejected + batch.rejections, key=_line)
        yield batch


def _jsonl_batches(url: str, stream: BinaryIO, contract: TableContract) -> Iterator[Batch]:
    validator = BatchValidator(url, contract)
    for chunk in _chunks(jsonl_records(url, stream), flat=False):
        problems = [(i, column_names_problem(obj)) for i, obj in enumerate(chunk.values)]
        for i, reason in reversed([(i, p) for i, p in problems if p]):
            chunk.rejected.append(rejected_record(url, chunk.lines[i], reason, chunk.texts[i]))
            del chunk.lines[i], chunk.texts[i], chunk.values[i]
        names = dict.fromkeys(name for obj in chunk.values for name in obj)
        columns = {name: [obj.get(name) for obj in chunk.values] for name in names}
        batch = validator.text_batch(chunk.lines, chunk.texts, columns, empty_is_null=False)
        batch.rejections = sorted(chunk.rejected + batch.rejections, key=_line)
        yield batch


@dataclass
class _Chunk:
    """Up to a batch of records, kept as columns of plain values: millions of short-lived
    records then leave no containers behind for the cyclic garbage collector to walk."""

    lines: list[int] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)  # CSV: every field in a row, flat
    rejected: list[Rejection] = field(default_factory=list)


def _chunks(records: Iterator[Record | Rejection], *, flat: bool) -> Iterator[_Chunk]:
    chunk, chars = _Chunk(), 0
    for record in records:
        if isinstance(record, Rejection):
            chunk.rejected.append(record)
        else:
            line, values, text = record
            chunk.lines.append(line)
            chunk.texts.append(text)
            if flat:
                chunk.values.extend(values)
            else:
                chunk.values.append(values)
            chars += len(text)
        if len(chunk.lines) + len(chunk.rejected) >= settings.BATCH_ROWS or (
            chars >= settings.BATCH_CHARS
        ):
            yield chunk
            chunk, chars = _Chunk(), 0
    if chunk.lines or chunk.rejected:
        yield chunk


def _missing_required(header: list[str], contract: TableContract) -> str | None:
    missing = [name for name in contract.required if name not in header]
    if not missing:
        return None
    return (
        f"schema drift: required column(s) {', '.join(missing)} missing; the whole file is "
        "quarantined. Fix the export (or the contract) and land the file again"
    )


def _line(rejection: Rejection) -> int:
    return rejection.line or 0
