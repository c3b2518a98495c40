"""CSV records, streamed, each with its exact original text and first line number.

The stdlib ``csv`` module splits records (a C streaming parser; DuckDB's and pyarrow's CSV readers
lose every row after a stray quote: see README). It reads from :class:`PhysicalLines`, which
hands it the file's lines (ended by ``\\n``, ``\\r`` or ``\\r\\n`` only, never U+2028) and
remembers which ones each record consumed. So:

* a broken record spanning several lines (a quote opened and never closed where the record
  should end) costs only its FIRST line: that line is quarantined and the lines after it are
  read again, with a fresh parser; a well-formed multi-line quoted value is kept whole;
* a last record with no line break after it is cut off: it is quarantined, never loaded;
* the quarantine gets every physical line of a bad record, exactly as in the file.
"""

from __future__ import annotations

import csv
from collections import deque
from collections.abc import Iterator
from typing import TextIO

from ingestion.landing import settings
from ingestion.landing.helpers import (
    EMPTY_FILE,
    Rejection,
    TableContract,
    column_names_problem,
    rejected_record,
)
from ingestion.landing.streams import CorruptStream, damaged

# Values are checked against MAX_FIELD_CHARS after parsing (with a clear reason); the parser's
# own limit only has to let any record that fits in MAX_RECORD_CHARS through.
csv.field_size_limit(max(csv.field_size_limit(), settings.MAX_RECORD_CHARS + 1))

# (first line, values in header order, the record's exact text without its final line break)
Record = tuple[int, list[str], str]

CUT_OFF = (
    "the file does not end with a line break: its last record looks cut off; if it is "
    "complete, re-send the file ending with a newline"
)
OPEN_QUOTE = "the file ends inside a quoted value"
OPEN_QUOTE_AT_END = (
    "the file ends inside a quoted value (an open quote): its last record looks cut off; "
    "re-send the whole file"
)


class RecordTooLong(Exception):
    """The record being read grew past MAX_RECORD_CHARS."""


class LineTooLong(RecordTooLong):
    """One physical line is longer than MAX_RECORD_CHARS (read only that far, the rest skipped)."""


class PhysicalLines:
    """The lines of a text stream for ``csv.reader``, with the ones the current record took.

    Lines given back with :meth:`push_back` are handed out again before the stream's next ones.
    """

    def __init__(self, text: TextIO) -> None:
        self._text = text
        self._pending: deque[str] = deque()
        self._next_number = 1  # the number of the next line handed out
        self.first = 1  # the current record's first line
        self.taken: list[str] = []  # the current record's lines
        self._chars = 0

    def __iter__(self) -> PhysicalLines:
        return self

    def __next__(self) -> str:
        limit = settings.MAX_RECORD_CHARS
        line = self._pending.popleft() if self._pending else self._text.readline(limit + 1)
        if not line:
            raise StopIteration
        self._next_number += 1
        self.taken.append(line)
        self._chars += len(line)
        if len(line) > limit and not line.endswith(("\n", "\r")):
            while (rest := self._text.readline(limit)) and not rest.endswith(("\n", "\r")):
                pass  # a line with no end in sight (e.g. a file with no line breaks) is skipped
            raise LineTooLong
        if self._chars > limit:
            raise RecordTooLong
        return line

    def start_record(self) -> None:
        self.first = self._next_number
        self.taken = []
        self._chars = 0

    def push_back(self, lines: list[str]) -> None:
        self._pending.extendleft(reversed(lines))
        self._next_number -= len(lines)


def csv_records(
    url: str, text: TextIO, contract: TableContract
) -> tuple[list[str], Iterator[Record | Rejection]] | Rejection:
    """The header and a stream of records (or rejections), or why the file has no usable header."""
    lines = PhysicalLines(text)
    reader = _reader(lines)
    while True:  # blank lines before the header are skipped
        lines.start_record()
        try:
            header = next(reader)
        except StopIteration:
            return Rejection(url, None, EMPTY_FILE)
        except (csv.Error, RecordTooLong, CorruptStream) as exc:
            return rejected_record(
                url, lines.first, f"unreadable CSV header: {_error_text(exc)}", _text(lines.taken)
            )
        if header:
            break
    header = [h.strip() for h in header]
    problem = _header_problem(header, contract)
    if problem:
        return rejected_record(url, lines.first, problem, _text(lines.taken))
    return header, _records(url, lines, reader, len(header))


def _records(
    url: str, lines: PhysicalLines, reader: Iterator[list[str]], width: int
) -> Iterator[Record | Rejection]:
    while True:
        lines.start_record()
        error = None
        try:
            values = next(reader)
        except StopIteration:
            return
        except LineTooLong as exc:  # the line was skipped: nothing to read again
            yield rejected_record(url, lines.first, _error_text(exc), _text(lines.taken))
            continue
        except (csv.Error, RecordTooLong) as exc:
            values, error = [], _error_text(exc)
        except CorruptStream as exc:
            yield rejected_record(url, lines.first, damaged(exc), _text(lines.taken) or None)
            return
        taken = lines.taken
        if not values and error is None:
            continue  # a blank line
        if error is None and len(values) != width:
            error = f"expected {width} fields (as the header), got {len(values)}: " + (
                "truncated or missing values" if len(values) < width else "extra values"
            )
        if error is not None and len(taken) > 1:
            # A quote opened on the first line swallowed the lines after it: only that line is
            # bad. Read the rest again with a fresh parser (the old one may hold a half record).
            # an open quote here swallowed the rest of the file: no cut-off, just one stray quote
            why = "" if error == OPEN_QUOTE else f" ({error})"
            yield rejected_record(
                url,
                lines.first,
                f"unbalanced quote: a quoted value opened on this line does not close where the "
                f"record should end{why}; only this line is quarantined, the lines after it are "
                "read again",
                _text(taken[:1]),
            )
            lines.push_back(taken[1:])
            reader = _reader(lines)
            continue
        cut_off = not taken[-1].endswith(("\n", "\r"))
        if error == OPEN_QUOTE:
            yield rejected_record(url, lines.first, OPEN_QUOTE_AT_END, _text(taken))
        elif error is not None or cut_off:
            reason = f"{error}; {CUT_OFF}" if error and cut_off else error or CUT_OFF
            yield rejected_record(url, lines.first, reason, _text(taken))
        else:
            yield lines.first, values, _text(taken)


def _reader(lines: PhysicalLines) -> Iterator[list[str]]:
    # strict: a quote must be doubled inside a quoted value and end it only before a delimiter
    # or line break, so a stray quote shows as an error instead of silently merged text.
    return csv.reader(lines, delimiter=settings.CSV_DELIMITER, strict=True)


def _error_text(exc: Exception) -> str:
    if isinstance(exc, CorruptStream):
        return damaged(exc)
    if isinstance(exc, LineTooLong):
        return f"a line runs past {settings.MAX_RECORD_CHARS:,} characters (the rest is skipped)"
    if isinstance(exc, RecordTooLong):
        return f"the record runs past {settings.MAX_RECORD_CHARS:,} characters"
    if str(exc) == "unexpected end of data":
        return OPEN_QUOTE
    return f"malformed CSV: {exc} (a quote inside a quoted value must be doubled)"


def _text(lines: list[str]) -> str:
    """A record's lines as in the file, without the line break that ends the record."""
    return "".join(lines).removesuffix("\n").removesuffix("\r")


def _header_problem(header: list[str], contract: TableContract) -> str | None:
    if len(header) == 1 and len(contract.schema) > 1:
        used = [d for d in settings.SUSPECT_DELIMITERS if d in header[0]]
        hint = f"it looks {used[0]!r}-separated" if used else "it has a single column"
        return (
            f"wrong delimiter: expected {settings.CSV_DELIMITER!r}-separated columns but {hint}; "
            "re-export with commas"
        )
    if any(not name.isascii() and not _is_utf8(name) for name in header):
        return f"the header is not valid {settings.ENCODING} (wrong encoding?): re-export the file"
    return column_names_problem(header)


def _is_utf8(text: str) -> bool:
    try:
        text.encode(settings.ENCODING)
    except UnicodeEncodeError:
        return False
    return True
