"""Landing contract files: the type vocabulary, validation errors that say where and what, discovery
(``LANDING_CONTRACTS_DIR`` read at call time), and file name patterns deciding a file's table,
end to end through the quarantine."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pyarrow as pa
import pytest

from ingestion.landing import TableContract, landing, last_run_report
from ingestion.landing.column_types import VOCABULARY, to_arrow
from ingestion.landing.contract import (
    DEFAULT_CONTRACTS_DIR,
    ContractError,
    load_source,
    load_sources,
)
from ingestion.landing.naming import match_table
from ingestion.pipeline import make_pipeline
from lakehouse.catalog import get_catalog
from lakehouse.settings import Settings


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.mark.parametrize(
    ("declared", "arrow"),
    [
        ("string", pa.string()),
        ("text", pa.string()),
        ("boolean", pa.bool_()),
        ("bool", pa.bool_()),
        ("int", pa.int32()),
        ("int32", pa.int32()),
        ("integer", pa.int32()),
        ("bigint", pa.int64()),
        ("int64", pa.int64()),
        ("BIGINT", pa.int64()),
        ("double", pa.float64()),
        ("float64", pa.float64()),
        ("date", pa.date32()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("decimal(12, 2)", pa.decimal128(12, 2)),
        ("numeric(38,0)", pa.decimal128(38, 0)),
    ],
)
def test_the_type_vocabulary_maps_to_arrow(declared: str, arrow: pa.DataType) -> None:
    assert to_arrow(declared) == arrow


def test_the_project_contract_declares_partners_stores() -> None:
    """contracts/partners.yml declares what orchestration/defs/landing/sources.py did in Python."""
    sources = load_sources(DEFAULT_CONTRACTS_DIR)
    assert list(sources) == ["partners"]
    stores = sources["partners"].table_contracts()["stores"]
    assert stores.schema == pa.schema(
        [
            pa.field("store_id", pa.int64(), nullable=False),
            pa.field("store_name", pa.string(), nullable=False),
            pa.field("city", pa.string()),
            pa.field("opened_on", pa.date32()),
        ]
    )
    assert stores.primary_key == ("store_id",)
    assert stores.files == ("stores.*", "stores-*")
    assert sources["partners"].description


GOOD = """\
    description: Orders from the Acme webshop.
    tables:
      - name: orders
        primary_key: [order_id]
        columns:
          - {name: order_id, type: bigint, nullable: false}
          - {name: amount, type: "decimal(12,2)"}
"""

# contract text -> the exact problem lines of the error (after the line naming the file)
INVALID = {
    "unknown type": (
        GOOD.replace('"decimal(12,2)"', "money"),
        [
            f"  - table 'orders', column 'amount', type: unknown type 'money'; the types are "
            f"{VOCABULARY}"
        ],
    ),
    "decimal too wide": (
        GOOD.replace("12,2", "40,2"),
        [
            "  - table 'orders', column 'amount', type: 'decimal(40,2)': a decimal needs "
            "1 <= precision <= 38 and scale <= precision"
        ],
    ),
    "key not a column": (
        GOOD.replace("[order_id]", "[order_no]"),
        ["  - table 'orders': primary key column 'order_no' is not among the columns"],
    ),
    "nullable key": (
        GOOD.replace("nullable: false", "nullable: true"),
        ["  - table 'orders': primary key column 'order_id' must be declared nullable: false"],
    ),
    "column twice": (
        GOOD + "          - {name: amount, type: double}\n",
        ["  - table 'orders': column(s) 'amount' declared more than once"],
    ),
    "misspelt key": (
        GOOD.replace("primary_key:", "primary_keys:"),
        ["  - table 'orders', primary_keys: unknown key (misspelt?)"],
    ),
    "bad table name": (
        GOOD.replace("name: orders", "name: Web-Orders"),
        [
            "  - table 'Web-Orders', name: must be lower-case letters, digits and _, starting "
            "with a letter"
        ],
    ),
    "pattern with a folder": (
        GOOD.replace("primary_key:", 'files: ["2024/*.csv"]\n        primary_key:'),
        [
            "  - table 'orders', files[0]: '2024/*.csv': a pattern matches the file name only (no '/')"
        ],
    ),
    "no columns": (
        "description: x\ntables:\n  - name: orders\n    columns: []\n",
        ["  - table 'orders', columns: List should have at least 1 item after validation, not 0"],
    ),
    "no tables": ("description: x\n", ["  - tables: Field required"]),
}


@pytest.mark.parametrize("case", INVALID)
def test_an_invalid_contract_names_the_file_the_place_and_the_problem(
    tmp_path: Path, case: str
) -> None:
    text, problems = INVALID[case]
    path = write(tmp_path, "acme.yml", text)
    with pytest.raises(ContractError) as error:
        load_source(path)
    assert str(error.value).splitlines() == [f"{path}: invalid landing contract", *problems]


def test_unreadable_or_misnamed_contract_files_are_errors(tmp_path: Path) -> None:
    broken = write(tmp_path, "acme.yml", "tables: [\n")
    with pytest.raises(ContractError, match=rf"^{broken}: not a readable YAML file: "):
        load_source(broken)
    empty = write(tmp_path, "empty.yml", "")
    with pytest.raises(ContractError) as error:
        load_source(empty)
    assert str(error.value) == f"{empty}: the file is empty; declare description and tables"
    misnamed = write(tmp_path, "Acme-EU.yml", GOOD)
    with pytest.raises(ContractError) as error:
        load_source(misnamed)
    assert str(error.value) == (
        f"{misnamed}: the file name gives the source name 'Acme-EU', which must be lower-case "
        "letters, digits and _ (it names the raw tables: raw.<source>_<table>)"
    )


def test_contracts_are_found_where_the_environment_says_when_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "contracts"
    write(folder, "acme.yml", GOOD)
    write(folder, "zeta.yaml", GOOD)
    write(folder, "notes.txt", "not a contract")
    monkeypatch.setenv("LANDING_CONTRACTS_DIR", str(folder))
    assert list(load_sources()) == ["acme", "zeta"]

    write(folder, "acme.yaml", GOOD)
    with pytest.raises(ContractError) as error:
        load_sources()
    assert str(error.value) == f"{folder}: source(s) 'acme' have more than one contract file"

    monkeypatch.setenv("LANDING_CONTRACTS_DIR", str(tmp_path / "missing"))
    with pytest.raises(ContractError, match=rf"^landing contracts folder {tmp_path}/missing "):
        load_sources()


PATTERNED = """\
    description: Store data from franchise partners.
    tables:
      - name: stores
        files: ["stores*.csv", "stores-*.csv.gz"]
        primary_key: [store_id]
        columns:
          - {name: store_id, type: bigint, nullable: false}
          - {name: city, type: string}
      - name: store_hours
        files: ["*hours*.csv"]
        primary_key: [store_id, weekday]
        columns:
          - {name: store_id, type: bigint, nullable: false}
          - {name: weekday, type: int, nullable: false}
          - {name: opens, type: string}
"""
PATTERN_LIST = "store_hours: *hours*.csv; stores: stores*.csv, stores-*.csv.gz"


def test_file_names_map_to_tables_by_their_patterns(tmp_path: Path) -> None:
    contracts = load_source(write(tmp_path, "partners.yml", PATTERNED)).table_contracts()
    assert match_table("stores_2024-01-02.csv", contracts) == ("stores", None)
    assert match_table("stores-eu.csv.gz", contracts) == ("stores", None)
    assert match_table("opening-hours.csv", contracts) == ("store_hours", None)
    assert match_table("stores_hours.csv", contracts) == (
        "stores_hours",
        "ambiguous file name 'stores_hours.csv': it matches the patterns of more than one table "
        f"({PATTERN_LIST}). Make the tables' file patterns exclusive in the source's contract, "
        "then land the file again",
    )
    assert match_table("Stores.csv", contracts) == (
        "Stores",
        "unknown table 'Stores': the file name 'Stores.csv' matches no declared table's patterns "
        f"({PATTERN_LIST}). Rename the file or declare its table in the source's contract",
    )


def test_a_table_without_patterns_takes_its_name_then_a_dot_or_a_dash() -> None:
    orders = {"orders": TableContract(pa.schema([pa.field("order_id", pa.int64())]))}
    for name in ("orders.csv", "orders.csv.gz", "orders-2024-01-02.jsonl"):
        assert match_table(name, orders) == ("orders", None)
    assert match_table("orders_eu.csv", orders) == (
        "orders_eu",
        "unknown table 'orders_eu': the file name 'orders_eu.csv' matches no declared table's "
        "patterns (orders: orders.*, orders-*). Rename the file or declare its table in the "
        "source's contract",
    )


def test_patterns_route_landed_files_and_quarantine_the_rest(
    lakehouse_env: Settings, tmp_path: Path
) -> None:
    contracts = load_source(write(tmp_path, "partners.yml", PATTERNED)).table_contracts()
    folder = tmp_path / "landing" / "partners" / "2024-01-02"
    write(folder, "stores_a.csv", "store_id,city\n1,Lyon\n2,Nantes\n")
    write(folder, "opening-hours.csv", "store_id,weekday,opens\n1,1,08:00\n1,2,08:30\n")
    # matches both tables; its stem is a declared table, yet it must not load as one
    write(folder, "stores-hours.csv", "store_id,city\n2,Nantes\n")
    write(folder, "Stores.csv", "store_id,city\n3,Paris\n")  # no table (patterns are exact)
    pipeline = make_pipeline(lakehouse_env, name="landing_partners")
    pipeline.run(landing(str(tmp_path / "landing"), "partners", contracts, "2024-01-02"))

    catalog = get_catalog(lakehouse_env)
    stores = catalog.load_table("raw.partners_stores").scan().to_arrow()
    assert sorted(stores["store_id"].to_pylist()) == [1, 2]
    hours = catalog.load_table("raw.partners_store_hours").scan().to_arrow()
    assert sorted(zip(hours["weekday"].to_pylist(), hours["opens"].to_pylist(), strict=True)) == [
        (1, "08:00"),
        (2, "08:30"),
    ]
    quarantine = catalog.load_table("raw.quarantine").scan().to_arrow().to_pylist()
    assert sorted((Path(r["file"]).name, r["table_name"], r["line"]) for r in quarantine) == [
        ("Stores.csv", "Stores", None),
        ("stores-hours.csv", "stores", None),
    ]
    reasons = {Path(r["file"]).name: r["reason"] for r in quarantine}
    assert reasons["stores-hours.csv"].startswith("ambiguous file name 'stores-hours.csv'")
    assert f"({PATTERN_LIST})" in reasons["stores-hours.csv"]
    assert reasons["Stores.csv"].startswith("unknown table 'Stores'")
    report = last_run_report(pipeline, "partners")
    assert report["rows_by_table"] == {"partners_stores": 2, "partners_store_hours": 2}
    assert report["rows_quarantined"] == 2
