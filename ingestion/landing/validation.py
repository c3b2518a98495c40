"""One batch of records against its contract: good rows as Arrow (with lineage), bad ones rejected.

A batch arrives as columns (Python values, or Arrow for Parquet). Text columns are checked and
cast with Arrow compute; a column of a batch that fails as a whole is converted value by value
(``conversion.convert``) to find and name its bad values. A row fails on its first bad value (in
column order), then on a null key or required value, then on a key seen earlier in the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.landing import settings
from ingestion.landing.conversion import (
    CONTROL_CHARS,
    ConversionError,
    as_extra,
    cast_strings,
    check_text,
    control_char,
    convert,
    first_control_char,
    too_long,
)
from ingestion.landing.helpers import Batch, TableContract, rejected_record
from ingestion.landing.keys import SeenKeys

Errors = dict[int, str]  # row of the batch -> why it is rejected (its first problem)


class BatchValidator:
    """Validates the batches of one file, remembering its keys across batches."""

    def __init__(self, url: str, contract: TableContract) -> None:
        self.url = url
        self.contract = contract
        self.declared = {f.name: f for f in contract.schema}
        # The one thing kept for the whole file (see keys.py for its memory).
        self._keys = SeenKeys(contract) if contract.primary_key else None

    def text_batch(
        self,
        lines: list[int],
        texts: Sequence[str],
        columns: Mapping[str, list[Any]],
        *,
        empty_is_null: bool,
    ) -> Batch:
        """Records of a CSV or JSON lines file: columns of text (or JSON values)."""
        errors: Errors = {}
        arrays = {
            name: self._text_column(name, values, errors, empty_is_null)
            for name, values in columns.items()
        }
        return self._finish(lines, arrays, errors, lambda i: texts[i])

    def arrow_batch(self, first_row: int, batch: pa.RecordBatch) -> Batch:
        """Rows of a Parquet file, already cast to the declared types."""
        errors: Errors = {}
        for name, column in zip(batch.schema.names, batch.columns, strict=True):
            if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                self._check_strings(name, column, errors)
        lines = list(range(first_row, first_row + batch.num_rows))
        arrays = dict(zip(batch.schema.names, batch.columns, strict=True))
        return self._finish(
            lines, arrays, errors, lambda i: preview(batch.slice(i, 1).to_pylist()[0])
        )

    # --- columns -----------------------------------------------------------------------------
    def _text_column(
        self, name: str, values: list[Any], errors: Errors, empty_is_null: bool
    ) -> pa.Array:
        field = self.declared.get(name)
        target = field.type if field is not None else pa.string()
        try:  # all text and valid UTF-8 (surrogates, ints, dicts... raise): the fast path
            strings = pa.array(values, pa.string())
        except (pa.ArrowException, UnicodeEncodeError):
            strings = None
        if strings is not None:
            if empty_is_null:
                strings = pc.if_else(pc.equal(strings, ""), pa.scalar(None, pa.string()), strings)
            self._check_strings(name, strings, errors)
            if pa.types.is_string(target):
                return strings
            cast = cast_strings(strings, target)
            if cast is not None:
                return cast
        return self._convert_each(name, values, field, errors, empty_is_null)

    def _check_strings(self, name: str, strings: pa.Array, errors: Errors) -> None:
        too_many = pc.greater(pc.utf8_length(strings), settings.MAX_FIELD_CHARS)
        for i in _rows(too_many):
            errors.setdefault(i, too_long(name, len(strings[i].as_py())))
        for i in _rows(pc.match_substring_regex(strings, CONTROL_CHARS)):
            errors.setdefault(i, control_char(name, first_control_char(strings[i].as_py())))

    def _convert_each(
        self,
        name: str,
        values: list[Any],
        field: pa.Field | None,
        errors: Errors,
        empty_is_null: bool,
    ) -> pa.Array:
        out: list[Any] = []
        for i, value in enumerate(values):
            if empty_is_null and value == "":
                value = None
            try:
                if isinstance(value, str):
                    check_text(name, value)
                out.append(as_extra(value) if field is None else convert(name, value, field.type))
            except ConversionError as exc:
                errors.setdefault(i, str(exc))
                out.append(None)
        target = pa.string() if field is None else field.type
        try:
            return pa.array(out, target)
        except (pa.ArrowException, OverflowError, ValueError):
            return _fitting(name, out, target, errors)

    # --- rows --------------------------------------------------------------------------------
    def _finish(
        self,
        lines: list[int],
        arrays: dict[str, pa.Array],
        errors: Errors,
        text_of: Callable[[int], str],
    ) -> Batch:
        rows = len(lines)
        for name in self.contract.required:
            column = arrays.get(name)
            nulls = range(rows) if column is None else _rows(column.is_null())
            kind = "key" if name in self.contract.primary_key else "required"
            for i in nulls:
                errors.setdefault(i, f"{kind} column '{name}' is null or missing")
        if self._keys is not None:
            self._keys.check(arrays, lines, errors)

        fields = [*self.contract.schema]
        fields += [pa.field(n, a.type) for n, a in arrays.items() if n not in self.declared]
        columns = [arrays.get(f.name, pa.nulls(rows, f.type)) for f in fields]
        table = pa.Table.from_arrays(columns, schema=pa.schema(fields))
        if errors:
            table = table.filter(pa.array([i not in errors for i in range(rows)]))
        good_lines = [line for i, line in enumerate(lines) if i not in errors]
        # Optional columns, though never null: Iceberg cannot add a required column to a raw
        # table landed before lineage existed.
        table = table.append_column(
            pa.field(settings.SOURCE_FILE_COLUMN, pa.string()),
            pa.repeat(pa.scalar(self.url), len(good_lines)),
        ).append_column(
            pa.field(settings.SOURCE_LINE_COLUMN, pa.int64()),
            pa.array(good_lines, pa.int64()),
        )
        rejections = [
            rejected_record(self.url, lines[i], reason, text_of(i))
            for i, reason in sorted(errors.items())
        ]
        return Batch(rows=table, rejections=rejections)


def preview(row: Mapping[str, Any]) -> str:
    """A typed row (Parquet) as JSON, for the quarantine."""
    return json.dumps(row, default=str)


def _rows(mask: pa.Array) -> list[int]:
    """The rows where a boolean column is true."""
    return pc.indices_nonzero(mask.fill_null(False)).to_pylist()


def _fitting(name: str, values: list[Any], target: pa.DataType, errors: Errors) -> pa.Array:
    """Values the rules accepted but Arrow cannot hold (e.g. a decimal with too many digits)."""
    for i, value in enumerate(values):
        try:
            pa.scalar(value, target)
        except (pa.ArrowException, OverflowError, ValueError):
            errors.setdefault(i, f"column '{name}': {value!r} does not fit {target}")
            values[i] = None
    return pa.array(values, target)
