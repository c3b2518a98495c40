"""Realistic CSV files for the landing source, and a generator of the damage files suffer.

:func:`clean_rows` makes rows with the values that trip readers up (commas and doubled quotes
inside quoted values, multi-line values, U+2028, non-ASCII text, empty fields, several
timestamp forms). :func:`corrupt` damages one copy of them the way files get damaged in
transit or export (a stray quote, a cut at any byte, NUL bytes, bytes that are not UTF-8, a
dropped or added field) and says which rows it touched, so a test can check that every other
row lands exactly once and every touched one is quarantined with its exact text.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa

COLUMNS = ("id", "name", "amount", "note", "created_at", "active", "qty")
SCHEMA = pa.schema(
    [
        pa.field("id", pa.int64(), nullable=False),
        pa.field("name", pa.string(), nullable=False),
        pa.field("amount", pa.decimal128(10, 2)),
        pa.field("note", pa.string()),
        pa.field("created_at", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("active", pa.bool_()),
        pa.field("qty", pa.int32()),
    ]
)
NAMES = (
    "Main Street",
    "O'Brien, Pat",  # a comma: quoted
    'The "Best" Shop',  # quotes: doubled inside a quoted value
    "Zoë Faßbender",
    "東京 Ginza",
    "Pizza 🍕 Corner",
    "Line\u2028Separator",  # U+2028: a line break to str.splitlines, not to csv
    "Tab\tInside",
)
NOTES = (
    "",
    "ok",
    "call first, then ship",
    'said "fragile"',
    "first line\nsecond line",  # multi-line: continuation lines start with a letter
    "three\nline\nnote",
    "para\u2028graph",
)
# Line breaks a file may use between records.
LINE_ENDINGS = ("\n", "\r\n")
CORRUPTIONS = (
    "stray_quote",
    "truncate",
    "truncate_last_field",
    "nul",
    "bad_utf8",
    "drop_field",
    "add_field",
)
_BREAK = re.compile(rb"\r\n|\r|\n")


def clean_rows(rng: random.Random, count: int, first_id: int) -> list[dict]:
    """Rows as the loaded table must hold them, plus the text each field is written as."""
    rows = []
    for n in range(count):
        amount = Decimal(rng.randrange(-50_000, 500_000)) / 100 if rng.random() > 0.1 else None
        stamp = datetime(2024, 1, 1 + n % 28, rng.randrange(24), rng.randrange(60), tzinfo=UTC)
        stamp_text = rng.choice(
            (
                stamp.isoformat(),
                stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                stamp.replace(tzinfo=None).isoformat(),  # naive: taken as UTC
                stamp.strftime("%Y-%m-%d %H:%M:%S.123456+00:00"),
            )
        )
        if ".123456" in stamp_text:
            stamp = stamp.replace(microsecond=123456)
        active = rng.choice((True, False, None))
        qty = rng.choice((None, rng.randrange(1, 1000)))
        note = rng.choice(NOTES)
        rows.append(
            {
                "id": first_id + n,
                "name": rng.choice(NAMES),
                "amount": amount,
                "note": note or None,
                "created_at": stamp,
                "active": active,
                "qty": qty,
                "_fields": [
                    str(first_id + n),
                    None,  # name: filled below
                    "" if amount is None else f"{amount:.2f}",
                    note,
                    stamp_text,
                    ""
                    if active is None
                    else rng.choice(("true", "TRUE", "1", "yes"))
                    if active
                    else rng.choice(("false", "0", "no")),
                    "" if qty is None else str(qty),
                ],
            }
        )
        rows[-1]["_fields"][1] = rows[-1]["name"]
    return rows


def encode_field(value: str) -> str:
    if any(ch in value for ch in ',"\n\r'):
        return '"' + value.replace('"', '""') + '"'
    return value


def encode_row(fields: list[str], ending: str) -> bytes:
    return (",".join(encode_field(f) for f in fields) + ending).encode()


@dataclass
class Damaged:
    """A file made from clean rows, and which rows it damaged (and which it cut away)."""

    header: bytes
    rows: list[bytes]  # each row's bytes as written (a damaged row's as damaged)
    damaged: set[int]  # rows that must not load: all their lines are quarantined
    missing: set[int]  # rows cut off the end of the file: in neither place

    @property
    def content(self) -> bytes:
        return self.header + b"".join(self.rows)

    def row_lines(self) -> list[tuple[int, int]]:
        """(first physical line, number of physical lines) of each row in the file."""
        spans, line = [], 2  # the header is line 1
        for data in self.rows:
            count = len(_BREAK.findall(data)) + (0 if data.endswith((b"\n", b"\r")) else 1)
            spans.append((line, count))
            line += count
        return spans


def corrupt(rows: list[dict], kind: str | None, ending: str, rng: random.Random) -> Damaged:
    """The rows as a CSV file with ``ending`` line breaks, damaged by ``kind`` (None: clean)."""
    header = (",".join(COLUMNS) + ending).encode()
    encoded = [encode_row(r["_fields"], ending) for r in rows]
    result = Damaged(header, encoded, set(), set())
    if kind is None:
        return result
    k = rng.randrange(len(rows))
    fields = [encode_field(f) for f in rows[k]["_fields"]]
    if kind == "stray_quote":  # an opening quote before a value that is not quoted
        f = rng.choice([i for i, text in enumerate(fields) if not text.startswith('"')])
        fields[f] = '"' + fields[f]
        result.rows[k] = (",".join(fields) + ending).encode()
    elif kind == "drop_field":
        del fields[rng.randrange(len(fields))]
        result.rows[k] = (",".join(fields) + ending).encode()
    elif kind == "add_field":
        result.rows[k] = (",".join([*fields, "surplus"]) + ending).encode()
    elif kind in ("nul", "bad_utf8"):
        data = result.rows[k]
        end = len(data) - len(ending)
        spots = [i for i in range(1, end) if data[i - 1] < 0x80 and data[i] < 0x80]
        at = rng.choice(spots)
        junk = b"\x00" if kind == "nul" else rng.choice((b"\xff", b"\xc3(", b"\xe2\x82", b"\x80"))
        result.rows[k] = data[:at] + junk + data[at:]
    elif kind == "truncate":  # at any byte after the header
        return _truncated(result, rng.randrange(1, sum(len(r) for r in result.rows)))
    elif kind == "truncate_last_field":  # inside a row's last value, or just before its break
        start = sum(len(r) for r in result.rows[:k])
        content = result.rows[k][: -len(ending)]
        low = min(content.rfind(b",") + 2, len(content))  # keep a character of a value
        return _truncated(result, start + rng.randrange(low, len(content) + 1))
    else:
        raise ValueError(kind)
    result.damaged = {k}
    return result


def _truncated(result: Damaged, cut: int) -> Damaged:
    """The file cut ``cut`` bytes after the header."""
    offset = 0
    for k, data in enumerate(result.rows):
        if offset + len(data) > cut:
            kept = data[: cut - offset]
            result.missing = set(range(k + 1, len(result.rows)))
            result.rows = result.rows[:k]
            if kept.endswith((b"\n", b"\r")):  # cut inside \r\n: the record is whole
                result.rows.append(kept)
            elif kept:
                result.rows.append(kept)
                result.damaged = {k}
            else:
                result.missing.add(k)
            return result
        offset += len(data)
    return result


def physical_lines(content: bytes) -> list[str]:
    """The file's lines as the reader splits them (\\n, \\r, \\r\\n), shown as the quarantine
    shows text (bytes that are not UTF-8 as \\xNN)."""
    text = content.decode("utf-8", "surrogateescape")
    lines = re.split(r"(?<=\r\n)|(?<=\r)(?!\n)|(?<=\n)", text)
    shown = [
        line.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        for line in lines
    ]
    return [line for line in shown if line]
