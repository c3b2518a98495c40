"""JSON lines, streamed: one object a line, each with its exact text and line number.

Lines end at ``\\n`` only (a JSON text never holds a raw line break, but may hold U+2028). A
complete object on a last line with no line break is fine; a cut-off one fails to parse.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterator
from typing import Any, BinaryIO

from ingestion.landing import settings
from ingestion.landing.helpers import EMPTY_FILE, Rejection, rejected_record
from ingestion.landing.streams import CorruptStream, damaged

# (line, the object, its exact text without the line break)
Record = tuple[int, dict[str, Any], str]


def jsonl_records(url: str, stream: BinaryIO) -> Iterator[Record | Rejection]:
    number = 0
    empty = True
    while True:
        try:
            raw = stream.readline(settings.MAX_RECORD_CHARS + 1)
            if len(raw) > settings.MAX_RECORD_CHARS and not raw.endswith(b"\n"):
                _skip_line(stream)
        except CorruptStream as exc:
            yield Rejection(url, number + 1, damaged(exc))
            return
        if not raw:
            break
        number += 1
        if number == 1:
            raw = raw.removeprefix(codecs.BOM_UTF8)
        data = raw.removesuffix(b"\n").removesuffix(b"\r")
        if not data.strip():
            continue
        empty = False
        rejection = _problem(url, number, raw, data)
        if rejection:
            yield rejection
            continue
        text = data.decode(settings.ENCODING)
        try:
            value = json.loads(text)
        except ValueError as exc:
            yield rejected_record(url, number, f"invalid JSON (truncated line?): {exc}", text)
            continue
        if not isinstance(value, dict):
            yield rejected_record(url, number, "a JSON line must be an object", text)
            continue
        yield number, value, text
    if empty:
        yield Rejection(url, None, EMPTY_FILE)


def _problem(url: str, number: int, raw: bytes, data: bytes) -> Rejection | None:
    """A line that is too long or not UTF-8, as a rejection; None if it can be parsed."""
    if len(raw) > settings.MAX_RECORD_CHARS:
        reason = f"the line runs past {settings.MAX_RECORD_CHARS:,} bytes"
    elif data.isascii():
        return None
    else:
        try:
            data.decode(settings.ENCODING)
            return None
        except UnicodeDecodeError as exc:
            reason = (
                f"not valid {settings.ENCODING} at byte {exc.start + 1} of the line (wrong "
                f"encoding?): re-export the file as {settings.ENCODING}"
            )
    return rejected_record(url, number, reason, data.decode(settings.ENCODING, "surrogateescape"))


def _skip_line(stream: BinaryIO) -> None:
    """Reads past the rest of an over-long line, a piece at a time."""
    while True:
        piece = stream.readline(settings.MAX_RECORD_CHARS)
        if not piece or piece.endswith(b"\n"):
            return
