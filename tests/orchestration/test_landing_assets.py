"""The landing assets in real Dagster runs: files in a temporary landing folder into raw.

Good rows land in ``raw.partners_stores``, bad rows and files in ``raw.quarantine``; the
``nothing_quarantined`` check warns with the count and reasons; running a date again loads
nothing twice; a date with no files is a clean no-op.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from ingestion.landing.contract import load_sources
from ingestion.shop.settings import START_DATE
from lakehouse.catalog import get_catalog
from lakehouse.settings import Settings
from orchestration.defs.landing.assets import CHECK_NAME, QUARANTINE_KEY, build_landing_assets
from orchestration.resources import build_resources

STORES = dg.AssetKey(["raw", "partners_stores"])
UNMATCHED = (
    "unknown table 'shelves': the file name 'shelves.csv' matches no declared table's patterns "
    "(stores: stores.*, stores-*). Rename the file or declare its table in the source's contract"
)
DAY = START_DATE.isoformat()
FILES = {
    # three good rows and one whose key is not an integer
    "stores.csv": "store_id,store_name,city,opened_on\n"
    "1,Main Street,Lyon,2020-01-02\n2,Harbour,Nantes,\n3,Airport,,2021-06-30\nx,Bad key,Paris,\n",
    # the required store_name column is missing: both rows are rejected (schema drift)
    "stores-late.csv": "store_id,city\n4,Lille\n5,Metz\n",
    # no table of contracts/partners.yml matches the name: the file is rejected
    "shelves.csv": "shelf_id\n1\n",
}


@pytest.fixture
def landed(lakehouse_env: Settings) -> Path:
    folder = lakehouse_env.data_dir / "landing" / "partners" / DAY
    folder.mkdir(parents=True)
    for name, text in FILES.items():
        (folder / name).write_text(text)
    return folder


def _materialize(instance: dg.DagsterInstance, day: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [build_landing_assets(load_sources())],
        partition_key=day,
        resources=build_resources(),
        instance=instance,
    )


def _metadata(result: dg.ExecuteInProcessResult, key: dg.AssetKey) -> dict:
    (event,) = [m for m in result.get_asset_materialization_events() if m.asset_key == key]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_landed_files_load_once_and_quarantine_warns(landed: Path, lakehouse_env: Settings):
    catalog = get_catalog(lakehouse_env)
    with dg.instance_for_test() as instance:
        first = _materialize(instance, DAY)
        assert first.success
        stores = _metadata(first, STORES)
        assert stores["rows_loaded"] == 3 and stores["dagster/row_count"] == 3
        quarantine = _metadata(first, QUARANTINE_KEY)
        assert quarantine["rows_quarantined"] == 4 and quarantine["dagster/row_count"] == 4
        (check,) = first.get_asset_check_evaluations()
        assert check.check_name == CHECK_NAME and not check.passed
        assert check.severity is dg.AssetCheckSeverity.WARN
        assert check.metadata["quarantined_rows"].value == 4
        assert check.metadata["quarantined_by_table"].value == {
            "partners_stores": 3,
            "partners_shelves": 1,
        }
        reasons = check.metadata["reasons"].value
        assert sum(reasons.values()) == 4
        assert reasons[UNMATCHED] == 1

        # The same date again: every file is in the ledger, nothing is loaded twice.
        again = _materialize(instance, DAY)
        assert _metadata(again, STORES)["rows_loaded"] == 0
        assert _metadata(again, QUARANTINE_KEY)["rows_quarantined"] == 0
        (check,) = again.get_asset_check_evaluations()
        assert check.passed

        # A date with no landed files is a clean no-op.
        empty = _materialize(instance, (START_DATE + timedelta(days=1)).isoformat())
        assert empty.success and _metadata(empty, STORES)["rows_loaded"] == 0

    rows = catalog.load_table("raw.partners_stores").scan().to_arrow()
    assert sorted(rows["store_id"].to_pylist()) == [1, 2, 3]
    assert catalog.load_table("raw.quarantine").scan().to_arrow().num_rows == 4


def test_an_empty_landing_folder_is_a_no_op(lakehouse_env: Settings):
    with dg.instance_for_test() as instance:
        result = _materialize(instance, DAY)
    assert result.success
    assert _metadata(result, STORES) == {"rows_loaded": 0, "dagster/row_count": 0}
    (check,) = result.get_asset_check_evaluations()
    assert check.passed
    assert not (lakehouse_env.dlt_pipelines_dir / "landing_partners").exists()
