"""The column types a landing contract may declare, and the Arrow type each one stands for.

A small vocabulary on purpose: every type here is one the landing reader parses from text (CSV,
JSON lines) and that Iceberg stores, so a contract cannot promise what the pipeline cannot keep.
"""

from __future__ import annotations

import re

import pyarrow as pa

# canonical name -> Arrow type. Timestamps are UTC (naive values are taken as UTC).
TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "boolean": pa.bool_(),
    "int": pa.int32(),
    "bigint": pa.int64(),
    "double": pa.float64(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
}
ALIASES = {
    "text": "string",
    "bool": "boolean",
    "int32": "int",
    "integer": "int",
    "int64": "bigint",
    "float64": "double",
}
MAX_DECIMAL_PRECISION = 38  # Iceberg's limit
_DECIMAL = re.compile(r"(?:decimal|numeric)\(\s*(\d+)\s*,\s*(\d+)\s*\)")
VOCABULARY = (
    f"{', '.join(TYPES)}, decimal(p,s) (p up to {MAX_DECIMAL_PRECISION}); aliases: "
    + ", ".join(f"{alias}={name}" for alias, name in ALIASES.items())
    + ", numeric(p,s)=decimal(p,s)"
)


def canonical(name: str) -> str:
    """The canonical spelling of a declared type; ValueError naming the vocabulary if unknown."""
    text = " ".join(name.split()).lower()
    text = ALIASES.get(text, text)
    if text in TYPES:
        return text
    match = _DECIMAL.fullmatch(text)
    if match is None:
        raise ValueError(f"unknown type {name!r}; the types are {VOCABULARY}")
    precision, scale = int(match[1]), int(match[2])
    if not 1 <= precision <= MAX_DECIMAL_PRECISION or scale > precision:
        raise ValueError(
            f"{name!r}: a decimal needs 1 <= precision <= {MAX_DECIMAL_PRECISION} and "
            "scale <= precision"
        )
    return f"decimal({precision},{scale})"


def to_arrow(name: str) -> pa.DataType:
    """The Arrow type of a declared type (any accepted spelling)."""
    text = canonical(name)
    match = _DECIMAL.fullmatch(text)
    return pa.decimal128(int(match[1]), int(match[2])) if match else TYPES[text]


def from_arrow(type_: pa.DataType) -> str | None:
    """The contract type that holds values of an Arrow type; None when none does (nested types,
    binary, unsigned 64-bit integers, decimals wider than Iceberg's)."""
    if pa.types.is_boolean(type_):
        return "boolean"
    if pa.types.is_integer(type_):
        signed = pa.types.is_signed_integer(type_)
        if type_.bit_width < 32 or (signed and type_.bit_width == 32):
            return "int"
        if type_.bit_width < 64 or signed:
            return "bigint"
        return None
    if pa.types.is_floating(type_):
        return "double"
    if pa.types.is_decimal(type_):
        return (
            f"decimal({type_.precision},{type_.scale})"
            if type_.precision <= MAX_DECIMAL_PRECISION
            else None
        )
    if pa.types.is_date(type_):
        return "date"
    if pa.types.is_timestamp(type_):
        return "timestamp"
    if (
        pa.types.is_string(type_)
        or pa.types.is_large_string(type_)
        or pa.types.is_string_view(type_)
        or pa.types.is_time(type_)  # no time type in the vocabulary: kept as its text
        or pa.types.is_null(type_)  # no value in the sample to tell the type by
    ):
        return "string"
    return None
