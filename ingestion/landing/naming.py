"""Which declared table a landed file belongs to, by its file name.

Each table declares glob patterns (``stores*.csv``, ``stores-*.csv.gz``), matched case-sensitively
against the file name; a table that declares none takes ``<table>.*`` and ``<table>-*``. A file
that matches no table, or more than one, belongs to none: the reason names the patterns, and the
file is quarantined under its name's stem (up to the first ``-`` or ``.``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from fnmatch import fnmatchcase
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingestion.landing.helpers import LandedFile, TableContract


def default_patterns(table: str) -> tuple[str, ...]:
    return (f"{table}.*", f"{table}-*")


def file_stem(name: str) -> str:
    """The name up to its first ``-`` or ``.``: ``stores-2024.csv`` -> ``stores``."""
    return re.split(r"[-.]", name, maxsplit=1)[0]


def with_table(landed: LandedFile, contracts: Mapping[str, TableContract]) -> LandedFile:
    """The listed file with the table its name matches, or with the reason it matches none."""
    table, problem = match_table(PurePosixPath(landed.path).name, contracts)
    return dataclasses.replace(landed, table=table, problem=landed.problem or problem)


def match_table(name: str, contracts: Mapping[str, TableContract]) -> tuple[str, str | None]:
    """``(table, None)`` for the one table whose patterns match ``name``; else ``(stem, reason)``."""
    patterns = {t: c.files or default_patterns(t) for t, c in sorted(contracts.items())}
    matched = [t for t, globs in patterns.items() if any(fnmatchcase(name, g) for g in globs)]
    if len(matched) == 1:
        return matched[0], None
    stem = file_stem(name)
    if matched:
        return stem, (
            f"ambiguous file name '{name}': it matches the patterns of more than one table "
            f"({_listing(patterns, matched)}). Make the tables' file patterns exclusive in the "
            "source's contract, then land the file again"
        )
    return stem, (
        f"unknown table '{stem}': the file name '{name}' matches no declared table's patterns "
        f"({_listing(patterns, list(patterns)) or 'no tables declared'}). Rename the file or "
        "declare its table in the source's contract"
    )


def _listing(patterns: dict[str, tuple[str, ...]], tables: list[str]) -> str:
    return "; ".join(f"{t}: {', '.join(patterns[t])}" for t in tables)
