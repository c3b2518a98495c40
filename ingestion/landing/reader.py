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
from pathlib import PurePosixPath
from typing import Any, BinaryIO

import fsspec

from ingestion.landing import settings
from ingestion.landing.csv_records import csv_records
from ingestion.landing.helpers import (
    LINEAGE_COLUMNS,
    Batch,
    LandedFile,
    Rejection,
    TableContract,
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
            yield Batch(rejections=[Rejection(landed.url, None, EMPTY)])
            return
        yield from parquet_batches(fs, landed, contract)
        return
    with open_binary(fs, landed) as stream:
        if landed.format == "csv":
            yield from _csv_batches(landed.url, stream, contract)
        else:
            yield from _jsonl_batches(landed.url, stream, contract)


EMPTY = "empty file: the sender delivered no data; ask for a resend"


def _unsupported(landed: LandedFile) -> str | None:
    if landed.format is not None:
        return None
    suffix = "".join(PurePosixPath(landed.path).suffixes[-2:]) or "(none)"
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
    for chunk in _chunks(records):
        good, rejected = _split(chunk)
        if drift:
            rejected += [rejected_record(url, line, drift, text) for line, _, text in good]
            yield Batch(rejections=sorted(rejected, key=_line))
            continue
        lines = [line for line, _, _ in good]
        texts = [text for _, _, text in good]
        by_column = zip(*(values for _, values, _ in good), strict=True)
        columns = dict(zip(header, map(list, by_column), strict=True)) if good else {}
        batch = validator.text_batch(lines, texts, columns, empty_is_null=True)
        batch.rejections = sorted(rejected + batch.rejections, key=_line)
        yield batch


def _jsonl_batches(url: str, stream: BinaryIO, contract: TableContract) -> Iterator[Batch]:
    validator = BatchValidator(url, contract)
    for chunk in _chunks(jsonl_records(url, stream)):
        good, rejected = _split(chunk)
        kept = []
        for record in good:
            reserved = [name for name in LINEAGE_COLUMNS if name in record[1]]
            if reserved:
                reason = f"key(s) {', '.join(reserved)} are reserved for the row's lineage"
                rejected.append(rejected_record(url, record[0], reason, record[2]))
            else:
                kept.append(record)
        names = dict.fromkeys(name for _, values, _ in kept for name in values)
        columns = {name: [values.get(name) for _, values, _ in kept] for name in names}
        lines = [line for line, _, _ in kept]
        texts = [text for _, _, text in kept]
        batch = validator.text_batch(lines, texts, columns, empty_is_null=False)
        batch.rejections = sorted(rejected + batch.rejections, key=_line)
        yield batch


def _chunks(records: Iterator[Record | Rejection]) -> Iterator[list[Record | Rejection]]:
    chunk: list[Record | Rejection] = []
    chars = 0
    for record in records:
        chunk.append(record)
        chars += len(record[2]) if isinstance(record, tuple) else 0
        if len(chunk) >= settings.BATCH_ROWS or chars >= settings.BATCH_CHARS:
            yield chunk
            chunk, chars = [], 0
    if chunk:
        yield chunk


def _split(chunk: list[Record | Rejection]) -> tuple[list[Record], list[Rejection]]:
    good = [r for r in chunk if isinstance(r, tuple)]
    rejected = [r for r in chunk if isinstance(r, Rejection)]
    return good, rejected


def _missing_required(header: list[str], contract: TableContract) -> str | None:
    missing = [name for name in contract.required if name not in header]
    if not missing:
        return None
    return (
        f"schema drift: required column(s) {', '.join(missing)} missing; the whole batch is "
        "quarantined. Fix the export (or the contract) and land the file again"
    )


def _line(rejection: Rejection) -> int:
    return rejection.line or 0
