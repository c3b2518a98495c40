"""The primary keys seen so far in a file, to reject a key repeated within the file.

This is the one part of a file the reader keeps whole, so it is kept small: a key of one integer,
date or timestamp column (the usual ids) is stored as int64 in sorted numpy runs with its first
line, 16 bytes a key (32 MB for 2M rows); any other key (text, several columns) in a dict of
Python objects, ~100-200 bytes a key.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np
import pyarrow as pa

from ingestion.landing.helpers import TableContract

Errors = dict[int, str]


class SeenKeys:
    def __init__(self, contract: TableContract) -> None:
        self.names = contract.primary_key
        key_type = contract.schema.field(self.names[0]).type if len(self.names) == 1 else None
        self._runs = _SortedRuns() if key_type is not None and _as_int64(key_type) else None
        self._seen: dict[Hashable, int] = {}

    def check(self, arrays: dict[str, pa.Array], lines: list[int], errors: Errors) -> None:
        """Reject (in ``errors``) every row without an error yet whose key came earlier."""
        rows = [i for i in range(len(lines)) if i not in errors]
        if not rows:
            return
        if self._runs is not None:
            column = arrays[self.names[0]].take(pa.array(rows))
            keys = _as_int64(column.type)(column).to_numpy()  # type: ignore[misc]
            firsts = self._runs.first_lines(keys, np.asarray(lines, np.int64)[rows])
            repeats = [(rows[j], int(firsts[j])) for j in np.flatnonzero(firsts).tolist()]
        else:
            repeats = self._dict_repeats(arrays, lines, rows)
        for i, first in repeats:
            shown = ", ".join(f"{n}={arrays[n][i].as_py()!r}" for n in self.names)
            errors[i] = f"duplicate key {shown}: first seen on line {first} of this file"

    def _dict_repeats(
        self, arrays: dict[str, pa.Array], lines: list[int], rows: list[int]
    ) -> list[tuple[int, int]]:
        values = [arrays[n].to_pylist() for n in self.names]
        keys = values[0] if len(self.names) == 1 else list(zip(*values, strict=True))
        repeats = []
        for i in rows:
            first = self._seen.setdefault(keys[i], lines[i])
            if first != lines[i]:
                repeats.append((i, first))
        return repeats


class _SortedRuns:
    """Unique int64 keys with their first line, in sorted runs merged like a binary counter
    (a handful of runs at any size, so a lookup is a few binary searches)."""

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []

    def first_lines(self, keys: np.ndarray, lines: np.ndarray) -> np.ndarray:
        """For each key, the line it was first seen on, or 0 if it is new (then remembered)."""
        first = np.zeros(len(keys), np.int64)
        for run_keys, run_lines in self._runs:
            at = np.minimum(np.searchsorted(run_keys, keys), len(run_keys) - 1)
            hit = (run_keys[at] == keys) & (first == 0)
            first[hit] = run_lines[at[hit]]
        order = np.argsort(keys, kind="stable")  # equal keys stay in line order
        ordered = keys[order]
        repeat = np.concatenate(([False], ordered[1:] == ordered[:-1]))
        group_start = np.maximum.accumulate(np.where(repeat, 0, np.arange(len(ordered))))
        earlier = first[order] == 0
        in_batch = repeat & earlier  # not seen before this batch, but earlier in it
        first[order[in_batch]] = lines[order][group_start][in_batch]
        new = ~repeat & earlier
        self._add(ordered[new], lines[order][new])
        return first

    def _add(self, keys: np.ndarray, lines: np.ndarray) -> None:
        if not len(keys):
            return
        self._runs.append((keys, lines))
        while len(self._runs) > 1 and len(self._runs[-2][0]) <= 2 * len(self._runs[-1][0]):
            (k1, l1), (k2, l2) = self._runs.pop(), self._runs.pop()
            merged_keys, merged_lines = np.concatenate((k2, k1)), np.concatenate((l2, l1))
            order = np.argsort(merged_keys, kind="stable")
            self._runs.append((merged_keys[order], merged_lines[order]))


def _as_int64(type_: pa.DataType):
    """How to turn a key column into exact int64 values, or None if it cannot be."""
    if pa.types.is_signed_integer(type_) or (
        pa.types.is_unsigned_integer(type_) and type_.bit_width < 64
    ):
        return lambda column: column.cast(pa.int64())
    if pa.types.is_date32(type_):
        return lambda column: column.cast(pa.int32()).cast(pa.int64())
    if pa.types.is_timestamp(type_):
        return lambda column: column.cast(pa.int64())
    return None
