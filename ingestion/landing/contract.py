"""Landing contracts: one YAML file per sending system declares its tables (see README.md).

``contracts/<source>.yml`` (or the folder in ``$LANDING_CONTRACTS_DIR``, read when the contracts
are loaded, never at import) holds the source's description and, per table, its columns (name,
type, nullable, description), primary key and file name patterns. A file is validated as it is
loaded; any mistake raises :class:`ContractError` naming the file, the table or column and what
is wrong. The rest of the pipeline sees plain :class:`TableContract` objects.
"""

from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import pyarrow as pa
import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from ingestion.landing import column_types
from ingestion.landing.helpers import TableContract
from ingestion.landing.naming import default_patterns

CONTRACTS_DIR_ENV = "LANDING_CONTRACTS_DIR"
DEFAULT_CONTRACTS_DIR = Path(__file__).parent / "contracts"
SUFFIXES = (".yml", ".yaml")

# Source and table names become raw table names (raw.<source>_<table>) and asset keys.
IDENTIFIER = r"^[a-z][a-z0-9_]*$"
Identifier = Annotated[str, Field(pattern=IDENTIFIER, max_length=63)]
Text = Annotated[str, Field(min_length=1)]


def _pattern(value: str) -> str:
    if "/" in value:
        raise ValueError(f"{value!r}: a pattern matches the file name only (no '/')")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)  # a misspelt key is an error


class ColumnSpec(_Strict):
    name: Text
    type: Annotated[str, AfterValidator(column_types.canonical)]
    nullable: bool = True
    description: str = ""

    @property
    def arrow_field(self) -> pa.Field:
        return pa.field(self.name, column_types.to_arrow(self.type), nullable=self.nullable)


class TableSpec(_Strict):
    name: Identifier
    description: str = ""
    files: list[Annotated[Text, AfterValidator(_pattern)]] | None = Field(None, min_length=1)
    primary_key: list[Text] = []
    columns: list[ColumnSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> TableSpec:
        names = [c.name for c in self.columns]
        if repeated := _repeated(names):
            raise ValueError(f"column(s) {repeated} declared more than once")
        if repeated := _repeated(self.primary_key):
            raise ValueError(f"primary_key lists {repeated} more than once")
        nullable = {c.name for c in self.columns if c.nullable}
        for key in self.primary_key:
            if key not in names:
                raise ValueError(f"primary key column '{key}' is not among the columns")
            if key in nullable:
                raise ValueError(f"primary key column '{key}' must be declared nullable: false")
        return self

    @property
    def file_patterns(self) -> tuple[str, ...]:
        return tuple(self.files) if self.files else default_patterns(self.name)

    def contract(self) -> TableContract:
        return TableContract(
            schema=pa.schema([c.arrow_field for c in self.columns]),
            primary_key=tuple(self.primary_key),
            files=self.file_patterns,
        )


class SourceContract(_Strict):
    """One contract file: the source is named by the file (``partners.yml`` -> ``partners``)."""

    description: str = ""
    tables: list[TableSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_tables(self) -> SourceContract:
        if repeated := _repeated([t.name for t in self.tables]):
            raise ValueError(f"table(s) {repeated} declared more than once")
        return self

    def table_contracts(self) -> dict[str, TableContract]:
        return {t.name: t.contract() for t in self.tables}


class ContractError(ValueError):
    """A contract file is missing, unreadable or invalid; the message says where and why."""


def contracts_dir() -> Path:
    """The folder of contract files: ``$LANDING_CONTRACTS_DIR`` if set, else ``contracts/``."""
    configured = os.environ.get(CONTRACTS_DIR_ENV, "").strip()
    return Path(configured).expanduser() if configured else DEFAULT_CONTRACTS_DIR


def load_sources(folder: Path | None = None) -> dict[str, SourceContract]:
    """Every contract file of ``folder`` (default :func:`contracts_dir`), by source name."""
    folder = folder or contracts_dir()
    if not folder.is_dir():
        raise ContractError(
            f"landing contracts folder {folder} does not exist (set {CONTRACTS_DIR_ENV} to the "
            "folder of <source>.yml files, or unset it for the project's own)"
        )
    paths = sorted(p for p in folder.iterdir() if p.suffix in SUFFIXES and p.is_file())
    if repeated := _repeated([p.stem for p in paths]):
        raise ContractError(f"{folder}: source(s) {repeated} have more than one contract file")
    return {p.stem: load_source(p) for p in paths}


def load_source(path: Path) -> SourceContract:
    """One contract file, validated; the source name is the file name without its suffix."""
    name = path.stem
    if not re.fullmatch(IDENTIFIER, name):
        raise ContractError(
            f"{path}: the file name gives the source name '{name}', which must be lower-case "
            "letters, digits and _ (it names the raw tables: raw.<source>_<table>)"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ContractError(f"{path}: not a readable YAML file: {exc}") from None
    if data is None:
        raise ContractError(f"{path}: the file is empty; declare description and tables")
    try:
        return SourceContract.model_validate(data)
    except ValidationError as exc:
        problems = "\n".join(f"  - {_where(e['loc'], data)}: {_message(e)}" for e in exc.errors())
        raise ContractError(f"{path}: invalid landing contract\n{problems}") from None


def _where(loc: tuple[Any, ...], data: Any) -> str:
    """A pydantic error location in the file's words: ``table 'stores', column 'city', type``."""
    parts: list[str] = []
    node = data
    for i, step in enumerate(loc):
        node = _child(node, step)
        if isinstance(step, int):
            continue  # said with the list's name below
        if step in ("tables", "columns") and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            item = _child(node, loc[i + 1])
            label = item.get("name") if isinstance(item, dict) else None
            parts.append(f"{step[:-1]} {label!r}" if label else f"{step[:-1]} #{loc[i + 1] + 1}")
        elif i + 1 < len(loc) and isinstance(loc[i + 1], int):
            parts.append(f"{step}[{loc[i + 1]}]")
        else:
            parts.append(str(step))
    return ", ".join(parts) or "the file"


def _child(node: Any, step: Any) -> Any:
    if isinstance(node, dict):
        return node.get(step)
    if isinstance(node, list) and isinstance(step, int) and step < len(node):
        return node[step]
    return None


def _message(error: dict[str, Any]) -> str:
    text = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "string_pattern_mismatch":
        return "must be lower-case letters, digits and _, starting with a letter"
    if error["type"] == "extra_forbidden":
        return "unknown key (misspelt?)"
    return text


def _repeated(names: list[str]) -> str:
    return ", ".join(repr(n) for n, count in Counter(names).items() if count > 1)
