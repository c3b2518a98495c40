"""Contracts, landed files and rejections of the landing source (no dlt here: plain fsspec).

:func:`list_files` finds the files of a date folder; ``reader.read_file`` reads and validates
one file in batches. Every problem becomes a :class:`Rejection` with a reason a person can act
on; nothing raises for bad data, so one bad file or row never stops a run or costs the good rows.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

import fsspec
import pyarrow as pa
from dlt.common.normalizers.naming.snake_case import NamingConvention

from ingestion.landing import settings
from ingestion.landing.naming import file_stem


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
    compression: str | None = None  # fsspec's name ("gzip", "zstd") or None
    # why the file is rejected whole: a dangling symlink, or a name matching no single table
    problem: str | None = None


@dataclass(frozen=True)
class Rejection:
    file: str
    line: int | None
    reason: str
    record: str | None = None


@dataclass
class Batch:
    """Part of a file: its good rows as Arrow (with their lineage) and its rejections."""

    rows: pa.Table | None = None
    rejections: list[Rejection] = field(default_factory=list)


EMPTY_FILE = "empty file: the sender delivered no data; ask for a resend"
LINEAGE_COLUMNS = frozenset((settings.SOURCE_FILE_COLUMN, settings.SOURCE_LINE_COLUMN))


def column_names_problem(names: Iterable[str]) -> str | None:
    """Why a file's (or a JSON record's) column names cannot become table columns, or None.

    dlt normalizes names (snake_case) before they reach the table: an empty name cannot be a
    column, and two names that normalize alike (``name``/``Name``, ``Store ID``/``store_id``) or
    like a lineage column would fail the whole load instead of quarantining the file.
    """
    names = list(names)
    blank = [n + 1 for n, name in enumerate(names) if not name.strip()]
    if blank:
        return (
            f"column(s) {', '.join(map(str, blank))} have no name (a trailing comma in a CSV "
            "header, an empty JSON key): name them or remove them from the export"
        )
    # dlt's default convention, imported by the layout its docs give (general-usage/
    # naming-convention.md: one module per convention, its class named `NamingConvention`).
    naming = NamingConvention()
    spellings: dict[str, list[str]] = {}
    for name in [*names, *sorted(LINEAGE_COLUMNS)]:
        spellings.setdefault(naming.normalize_identifier(name), []).append(name)
    reserved = sorted(name for name in names if name in LINEAGE_COLUMNS)
    if reserved:
        return f"column(s) {', '.join(reserved)} are reserved for the row's lineage"
    clashes = [same for same in spellings.values() if len(same) > 1]
    if clashes:
        shown = "; ".join(" / ".join(repr(n) for n in same) for same in clashes)
        return (
            f"column names that become the same table column: {shown} (names are made "
            "snake_case); rename the columns in the export"
        )
    return None


def rejected_record(file: str, line: int | None, reason: str, text: str | None) -> Rejection:
    """A rejection keeping the record's exact text, readable: bytes that are not UTF-8 (kept as
    surrogates while reading) shown as ``\\xNN``, long text cut (the reason says so)."""
    if text is not None and not text.isascii():
        text = text.encode(settings.ENCODING, "surrogateescape").decode(
            settings.ENCODING, "backslashreplace"
        )
    if text is not None and len(text) > settings.RECORD_PREVIEW_CHARS:
        reason += (
            f" (record cut to its first {settings.RECORD_PREVIEW_CHARS:,} of {len(text):,} "
            "characters)"
        )
        text = text[: settings.RECORD_PREVIEW_CHARS]
    return Rejection(file, line, reason, text)


# --- discovery -------------------------------------------------------------------------------
def kind_of(file_name: str) -> tuple[str | None, str | None]:
    """(format, compression) from the file's extensions; format None if unsupported."""
    suffixes = [s.lower() for s in PurePosixPath(file_name).suffixes]
    compression = settings.COMPRESSIONS.get(suffixes[-1]) if suffixes else None
    if compression:
        suffixes.pop()
    fmt = settings.FORMATS.get(suffixes[-1]) if suffixes else None
    if compression and fmt == "parquet":
        return None, compression  # Parquet compresses inside; a compressed Parquet is not read
    return fmt, compression


def list_files(
    root: str, source: str, ingest_date: str | None, storage_options: Mapping[str, Any] | None
) -> Iterator[LandedFile]:
    """Files under ``<root>/<source>/<ingest_date>/`` (every date folder if none), sorted.

    A symlink to a file is followed; a dangling one, or one to anything but a file, is listed
    with its problem (and quarantined). Folders inside a date folder are not read.
    """
    fs, base = fsspec.core.url_to_fs(root, **(storage_options or {}))
    protocol = fs.protocol[0] if isinstance(fs.protocol, tuple | list) else fs.protocol
    prefix = f"{base.rstrip('/')}/{source}"
    dates = [ingest_date] if ingest_date else sorted(_child_names(fs, prefix))
    for day in dates:
        folder = f"{prefix}/{day}"
        if not fs.exists(folder):
            continue
        for info in sorted(fs.ls(folder, detail=True), key=lambda i: i["name"]):
            if info.get("type") == "directory":
                continue
            info, problem = _followed(fs, info)
            path = info["name"]
            name = PurePosixPath(path).name
            fmt, compression = kind_of(name)
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
                table=file_stem(name),  # until with_table matches the contract
                format=fmt,
                fingerprint=f"{info.get('size')}:{str(version).strip(chr(34))}",
                compression=compression,
                problem=problem,
            )


def _followed(fs: fsspec.AbstractFileSystem, info: dict) -> tuple[dict, str | None]:
    """A listed entry as the file it stands for (a symlink followed), and why it cannot be read."""
    if info.get("islink"):
        target = info.get("destination")
        try:
            followed = fs.info(info["name"])  # follows the link
        except FileNotFoundError:
            return info, (
                f"dangling symlink: it points to {target!r}, which does not exist; land the file "
                "itself (or fix the link)"
            )
        if followed.get("type") != "file":
            return info, f"a symlink to a {followed.get('type')} ({target!r}): land a file"
        return {**followed, "name": info["name"]}, None
    if info.get("type") != "file":
        return info, "not a regular file (a pipe, socket or device?): land a regular file"
    return info, None


def _child_names(fs: fsspec.AbstractFileSystem, prefix: str) -> list[str]:
    if not fs.exists(prefix):
        return []
    return [
        PurePosixPath(i["name"]).name
        for i in fs.ls(prefix, detail=True)
        if i["type"] == "directory"
    ]
