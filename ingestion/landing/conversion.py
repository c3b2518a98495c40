"""Text and JSON values as their declared Arrow types: a whole column at once, or value by value.

:func:`convert_value` holds the rules (what counts as a valid integer, decimal, timestamp...).
:func:`cast_strings` is the fast path for a column of text: pyarrow casts it in one go, but only
when every value has a plain form on which pyarrow's parser and :func:`convert_value` agree (a
guard pattern; e.g. pyarrow reads ``0x10`` as 16 and ``1.200`` into ``decimal(12, 2)``, which the
rules reject). Otherwise it returns None and the caller converts that column value by value.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.landing import settings

_INT_RE = re.compile(r"[+-]?\d+")
# C0 control characters other than tab, line feed and carriage return: NUL bytes and the like
# mean binary or damaged data, and break engines downstream.
CONTROL_CHARS = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"
_CONTROL_RE = re.compile(CONTROL_CHARS)

# Years 0001-9999 (pyarrow takes year 0, Python's dates do not).
_DATE = r"(?:[0-9]{3}[1-9]|[0-9]{2}[1-9][0-9]|[0-9][1-9][0-9]{2}|[1-9][0-9]{3})-[0-9]{2}-[0-9]{2}"
_TIME = r"[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
_NAIVE_STAMP = f"^{_DATE}({_TIME})?$"
_AWARE_STAMP = f"^{_DATE}{_TIME}(Z|[+-][0-9]{{2}}:[0-9]{{2}})$"


class ConversionError(ValueError):
    """A value that is not valid for its column; the message says which and why."""


# --- a column at once ------------------------------------------------------------------------
def cast_strings(strings: pa.Array, target: pa.DataType) -> pa.Array | None:
    """The column cast to ``target`` by pyarrow, or None where that could differ from (or fail
    where) :func:`convert_value` would: the caller then converts value by value."""
    for pattern, via in _fast_paths(target):
        matches = pc.all(pc.match_substring_regex(strings, pattern)).as_py()
        if matches is False:
            continue
        try:
            return strings.cast(via).cast(target) if via else strings.cast(target)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, OverflowError):
            return None
    return None


def _fast_paths(target: pa.DataType) -> list[tuple[str, pa.DataType | None]]:
    """(guard pattern, intermediate type) pairs under which pyarrow's cast matches the rules."""
    if pa.types.is_integer(target):
        return [(r"^-?[0-9]+$", None)]
    if pa.types.is_floating(target):
        return [(r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$", None)]
    if pa.types.is_decimal(target):
        s = target.scale
        fraction = rf"(\.[0-9]{{0,{s}}})?|\.[0-9]{{1,{s}}}" if s else r"\.?"
        return [(rf"^[+-]?([0-9]+{fraction})$", None)]
    if pa.types.is_boolean(target):
        return [(r"^(?i)(true|false|1|0)$", None)]
    if pa.types.is_date(target):
        return [(f"^{_DATE}$", None)]
    if pa.types.is_timestamp(target) and target.unit in ("us", "ns"):
        if target.tz is None:
            return [(_NAIVE_STAMP, None)]
        # Naive values are taken as UTC: parsed as naive, then labelled with the time zone.
        return [(_AWARE_STAMP, None), (_NAIVE_STAMP, pa.timestamp(target.unit))]
    return []


# --- value by value --------------------------------------------------------------------------
def check_text(name: str, value: str) -> None:
    """The rules for any text value: valid UTF-8, not huge, no control characters."""
    if not value.isascii():
        try:
            value.encode(settings.ENCODING)
        except UnicodeEncodeError:  # undecodable bytes, kept as surrogates while reading
            raise ConversionError(
                f"column '{name}' is not valid {settings.ENCODING} (wrong encoding?): re-export "
                f"the file as {settings.ENCODING}"
            ) from None
    if len(value) > settings.MAX_FIELD_CHARS:
        raise ConversionError(too_long(name, len(value)))
    control = _CONTROL_RE.search(value)
    if control:
        raise ConversionError(control_char(name, control.group()))


def too_long(name: str, chars: int) -> str:
    return (
        f"column '{name}' holds {chars:,} characters, over the {settings.MAX_FIELD_CHARS:,} limit"
    )


def control_char(name: str, char: str) -> str:
    return (
        f"column '{name}' holds the control character U+{ord(char):04X}"
        f"{' (NUL)' if char == chr(0) else ''}: binary or damaged data; fix the export"
    )


def first_control_char(value: str) -> str:
    found = _CONTROL_RE.search(value)
    return found.group() if found else "\x00"


def as_extra(value: Any) -> str | None:
    """A value of a column the contract does not declare: kept as text (raw evolves)."""
    if value is None or isinstance(value, str):
        return value
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def convert(name: str, value: Any, type_: pa.DataType) -> Any:
    """A text or JSON value as the declared Arrow type; ConversionError says which and why."""
    if value is None:
        return None
    try:
        return convert_value(value, type_)
    except (ValueError, TypeError, InvalidOperation, OverflowError):
        shown = value if len(str(value)) <= 40 else f"{str(value)[:40]}..."
        raise ConversionError(f"column '{name}': {shown!r} is not a valid {type_}") from None


def convert_value(value: Any, type_: pa.DataType) -> Any:
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
