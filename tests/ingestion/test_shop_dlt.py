"""The dlt source: resource wiring, and an end-to-end load into Iceberg on a temporary folder."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import timedelta
from pathlib import Path

import dlt
import pyarrow as pa
import pytest

from ingestion.shop import LEDGER_KEY, shop
from ingestion.shop.generator import SCHEMAS, TABLES, ShopSimulator
from ingestion.shop.settings import START_DATE
from lakehouse.settings import Settings

SCALE_FACTOR = 0.2  # 400 customers, 50 products, ~100 orders a day: loads stay quick
D1, D2, D3 = (START_DATE + timedelta(days=i) for i in range(3))
MERGE = {"customers", "products", "orders"}


@pytest.fixture(autouse=True)
def fresh_pipeline_context(tmp_path: Path) -> None:
    """A source iterated outside a load keeps its state in dlt's active pipeline: give each test
    an empty one, so the dataset record of another test's load (any scale) is not read here."""
    dlt.pipeline(pipeline_name="shop_wiring", pipelines_dir=str(tmp_path / "pipelines"))


# --- wiring (no destination) -------------------------------------------------------------------
def test_resources_declare_the_contract() -> None:
    source = shop(D1, scale_factor=SCALE_FACTOR)
    assert source.name == "shop"
    assert list(source.resources) == list(TABLES)
    for name, resource in source.resources.items():
        schema = resource.compute_table_schema()
        assert schema["table_format"] == "iceberg"
        keys = [c for c, col in schema["columns"].items() if col.get("primary_key")]
        if name in MERGE:
            assert schema["write_disposition"] == "merge"
            assert schema["x-merge-strategy"] == "upsert"
            assert keys == [f"{name[:-1]}_id", "updated_at"]
        else:
            assert schema["write_disposition"] == "append"
            assert keys == [f"{name[:-1]}_id" if name != "order_items" else "order_item_id"]
        assert list(schema["columns"]) == SCHEMAS[name].names
        for column in [*keys, "_arrived_at"]:
            assert schema["columns"][column]["nullable"] is False
        assert schema["columns"]["_arrived_at"]["data_type"] == "timestamp"
        incremental = resource.incremental
        assert incremental.cursor_path == "_arrived_at"
        assert incremental.initial_value.isoformat() == "2024-01-01T00:00:00+00:00"
        assert incremental.end_value.isoformat() == "2024-01-02T00:00:00+00:00"


def test_source_yields_arrow_tables_of_the_increment() -> None:
    source = shop(D2, scale_factor=SCALE_FACTOR, batch_size=50)
    expected = ShopSimulator(scale_factor=SCALE_FACTOR).read("order_items", D2)
    batches = list(source.resources["order_items"])
    assert batches and all(isinstance(b, pa.Table) and b.num_rows <= 50 for b in batches)
    assert pa.concat_tables(batches).equals(expected)


def test_business_date_before_start_is_rejected() -> None:
    with pytest.raises(ValueError, match="before the source's start_date"):
        shop(START_DATE - timedelta(days=1))
    with pytest.raises(ValueError, match="batch_size"):
        shop(D1, batch_size=0)
    with pytest.raises(ValueError, match="last_business_date"):
        shop(D2, last_business_date=D1)


def test_a_window_of_dates_is_one_source_over_its_arrival_range() -> None:
    source = shop(D1, last_business_date=D3, scale_factor=SCALE_FACTOR, batch_size=50)
    incremental = source.resources["payments"].incremental
    assert incremental.initial_value.isoformat() == "2024-01-01T00:00:00+00:00"
    assert incremental.end_value.isoformat() == "2024-01-04T00:00:00+00:00"
    simulator = ShopSimulator(scale_factor=SCALE_FACTOR)
    expected = pa.concat_tables(simulator.read("payments", day) for day in (D1, D2, D3))
    assert pa.concat_tables(list(source.resources["payments"])).equals(expected)


# --- end to end --------------------------------------------------------------------------------
class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _pipeline(data_dir: Path) -> dlt.Pipeline:
    settings = Settings.from_env({"LAKEHOUSE_DATA_DIR": str(data_dir)})
    try:
        from ingestion.pipeline import make_pipeline
    except ImportError:  # the project's pipeline module is optional for this test
        return _manual_pipeline(settings)
    return make_pipeline(settings)


def _manual_pipeline(settings: Settings) -> dlt.Pipeline:
    from lakehouse.catalog import catalog_properties, get_catalog

    dlt.config["iceberg_catalog.iceberg_catalog_name"] = "lakehouse"
    dlt.config["iceberg_catalog.iceberg_catalog_type"] = "sql"
    dlt.config["iceberg_catalog.iceberg_catalog_config"] = catalog_properties(settings)
    get_catalog(settings)  # create the SQL catalog's tables before dlt's load threads race
    return dlt.pipeline(
        "shop",
        destination=dlt.destinations.filesystem(bucket_url=settings.warehouse_uri),
        dataset_name="raw",
        pipelines_dir=str(settings.data_dir / "dlt"),
    )


def _catalog(data_dir: Path):
    from lakehouse.catalog import get_catalog

    return get_catalog(Settings.from_env({"LAKEHOUSE_DATA_DIR": str(data_dir)}))


def _rows(table: pa.Table, name: str) -> Counter:
    """Multiset of full contract rows (dlt's own columns dropped)."""
    return Counter(tuple(sorted(r.items())) for r in table.select(SCHEMAS[name].names).to_pylist())


def _snapshots(catalog) -> dict[str, int | None]:
    out = {}
    for name in TABLES:
        snapshot = catalog.load_table(("raw", name)).current_snapshot()
        out[name] = snapshot.snapshot_id if snapshot else None
    return out


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """Three business dates loaded out of order (D3, D1, D2) into a persistent SQL catalog.

    Tests reopen the pipeline by name with ``_pipeline(data_dir)`` (state comes back from its
    folder), which also re-applies the process-global dlt catalog config they rely on.
    """
    data_dir = tmp_path_factory.mktemp("lakehouse")
    capture = _Capture()
    logging.getLogger("dlt").addHandler(capture)
    try:
        for day in (D3, D1, D2):
            _pipeline(data_dir).run(shop(day, scale_factor=SCALE_FACTOR, batch_size=64))
    finally:
        logging.getLogger("dlt").removeHandler(capture)
    return data_dir, capture.messages


def test_each_row_loaded_exactly_once_in_any_order(loaded) -> None:
    data_dir, _ = loaded
    catalog = _catalog(data_dir)
    sim = ShopSimulator(scale_factor=SCALE_FACTOR)
    for name in TABLES:
        landed = catalog.load_table(("raw", name)).scan().to_arrow()
        generated = pa.concat_tables(sim.read(name, day) for day in (D1, D2, D3))
        assert landed.num_rows == generated.num_rows, name
        assert _rows(landed, name) == _rows(generated, name), name


def test_ledger_records_loaded_dates_sorted(loaded) -> None:
    data_dir, _ = loaded
    resources = _pipeline(data_dir).state["sources"]["shop"]["resources"]
    for name in TABLES:
        assert resources[name][LEDGER_KEY] == [D1.isoformat(), D2.isoformat(), D3.isoformat()]


def test_no_arrow_hint_mismatch_warnings(loaded) -> None:
    _, messages = loaded
    assert not [m for m in messages if "hints" in m], messages


def test_rerunning_a_loaded_date_changes_nothing(loaded) -> None:
    data_dir, _ = loaded
    before = _snapshots(_catalog(data_dir))
    pipeline = _pipeline(data_dir)
    pipeline.run(shop(D2, scale_factor=SCALE_FACTOR))
    counts = pipeline.last_trace.last_normalize_info
    assert not (set(counts.row_counts) if counts else set()) & set(TABLES)
    assert _snapshots(_catalog(data_dir)) == before


def test_a_window_loads_in_one_load_only_the_dates_not_yet_loaded(tmp_path: Path) -> None:
    pipeline = _pipeline(tmp_path)
    pipeline.run(shop(D2, scale_factor=SCALE_FACTOR))
    pipeline.run(shop(D1, last_business_date=D3, scale_factor=SCALE_FACTOR, batch_size=64))
    assert len(pipeline.last_trace.last_load_info.loads_ids) == 1
    catalog = _catalog(tmp_path)
    simulator = ShopSimulator(scale_factor=SCALE_FACTOR)
    resources = pipeline.state["sources"]["shop"]["resources"]
    for name in TABLES:
        landed = catalog.load_table(("raw", name)).scan().to_arrow()
        generated = pa.concat_tables(simulator.read(name, day) for day in (D1, D2, D3))
        assert _rows(landed, name) == _rows(generated, name), name  # D2 not twice
        assert resources[name][LEDGER_KEY] == [D1.isoformat(), D2.isoformat(), D3.isoformat()]


def test_reload_rewrites_merge_tables_only(loaded) -> None:
    data_dir, _ = loaded
    catalog = _catalog(data_dir)
    before = _snapshots(catalog)
    rows_before = {n: catalog.load_table(("raw", n)).scan().to_arrow().num_rows for n in TABLES}
    pipeline = _pipeline(data_dir)
    pipeline.run(shop(D1, scale_factor=SCALE_FACTOR, reload=True))
    extracted = set(pipeline.last_trace.last_normalize_info.row_counts)
    assert extracted >= MERGE and not extracted & {"order_items", "payments"}
    catalog = _catalog(data_dir)
    after = _snapshots(catalog)
    for name in TABLES:
        # Upserts of the same versions are idempotent; append tables were not re-sent.
        assert catalog.load_table(("raw", name)).scan().to_arrow().num_rows == rows_before[name]
        assert (after[name] != before[name]) == (name in MERGE), name


def test_a_load_of_another_dataset_is_refused_and_writes_nothing(tmp_path: Path) -> None:
    """Raw records what generated it; a run with another seed or scale must not mix datasets."""
    from dlt.pipeline.exceptions import PipelineStepFailed

    from ingestion.shop import DatasetMismatch

    data_dir = tmp_path / "data"
    _pipeline(data_dir).run(shop(D1, seed=7, scale_factor=SCALE_FACTOR))
    before = _snapshots(_catalog(data_dir))
    for other in ({"seed": 42, "scale_factor": SCALE_FACTOR}, {"seed": 7, "scale_factor": 0.3}):
        with pytest.raises(PipelineStepFailed) as failed:
            _pipeline(data_dir).run(shop(D2, **other))
        cause = failed.value.__cause__
        while cause is not None and not isinstance(cause, DatasetMismatch):
            cause = cause.__cause__
        assert cause is not None, failed.value
        assert "raw already holds shop data generated with scale_factor=0.2, seed=7" in str(cause)
        assert "make clean" in str(cause)
        assert _snapshots(_catalog(data_dir)) == before  # nothing committed
    # The recorded dataset still loads, with nothing of the refused runs in between.
    _pipeline(data_dir).run(shop(D2, seed=7, scale_factor=SCALE_FACTOR))
    orders = _catalog(data_dir).load_table(("raw", "orders")).scan().to_arrow()
    simulator = ShopSimulator(seed=7, scale_factor=SCALE_FACTOR)
    expected = pa.concat_tables(simulator.read("orders", day) for day in (D1, D2))
    assert _rows(orders, "orders") == _rows(expected, "orders")
