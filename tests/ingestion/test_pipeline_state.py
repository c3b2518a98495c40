"""Source state kept with the data (ingestion/pipeline_state.py) and the project's dlt settings
(ingestion/pipeline.py): a run pod with an empty working folder restores the newest ledger, so
loading the same dates again adds nothing; the project's settings stay with its own pipeline."""

from __future__ import annotations

import shutil
from collections import Counter

import dlt
import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.pipeline import make_pipeline
from ingestion.pipeline_state import (
    effective_sources,
    stored_records,
    tables_missing,
)
from lakehouse.catalog import get_catalog
from lakehouse.settings import Settings

NAME = "dated"


def dated(days: list[str], tables: tuple[str, ...]):
    """One row per day and table, each day once: a ledger in the resource's state (as the shop
    and landing sources keep theirs)."""

    def rows(table: str):
        ledger = dlt.current.resource_state().setdefault("ledger", [])
        for day in days:
            if day not in ledger:
                ledger.append(day)
                yield pa.table({"day": [day], "source_table": [table]})

    @dlt.source(name=NAME)
    def source():
        return [
            dlt.resource(rows, name=table, write_disposition="append")(table) for table in tables
        ]

    return source()


def fresh_pod(settings: Settings) -> dlt.Pipeline:
    """The pipeline as a new Kubernetes run pod builds it: no working folder."""
    shutil.rmtree(settings.dlt_pipelines_dir / NAME, ignore_errors=True)
    return make_pipeline(settings, name=NAME)


def days_loaded(settings: Settings, table: str) -> Counter[str]:
    rows = get_catalog(settings).load_table(("raw", table)).scan().to_arrow()
    return Counter(rows.column("day").to_pylist())


def test_a_pod_restores_the_newest_ledger_and_loads_no_day_twice(lakehouse_env) -> None:
    both = ("events", "others")
    first = make_pipeline(lakehouse_env, name=NAME)
    for day in ("d1", "d2", "d3"):  # several loads: dlt's state counter climbs in this folder
        first.run(dated([day], both))
    # A new pod loads d4 into one table only: that table now holds the newest ledger, written
    # by a pipeline whose state counter started again after the restore.
    fresh_pod(lakehouse_env).run(dated(["d4"], ("events",)))
    # The next pod must restore that ledger, not the older one ``others`` records.
    fresh_pod(lakehouse_env).run(dated(["d1", "d2", "d3", "d4"], both))
    assert days_loaded(lakehouse_env, "events") == Counter(["d1", "d2", "d3", "d4"])
    # ``others`` never had d4 in its ledger's load: it is loaded now, once.
    assert days_loaded(lakehouse_env, "others") == Counter(["d1", "d2", "d3", "d4"])


def test_the_newest_load_wins_whatever_the_table_names(lakehouse_env) -> None:
    first = make_pipeline(lakehouse_env, name=NAME)
    first.run(dated(["d1"], ("a_first", "z_last")))
    fresh_pod(lakehouse_env).run(dated(["d2"], ("a_first",)))
    sources = effective_sources(stored_records(get_catalog(lakehouse_env), "raw", NAME))
    assert sources[NAME]["resources"]["a_first"]["ledger"] == ["d1", "d2"]


def test_each_table_records_the_loads_jobs_and_the_state_it_started_from(lakehouse_env) -> None:
    pipeline = make_pipeline(lakehouse_env, name=NAME)
    pipeline.run(dated(["d1"], ("events", "others")))
    info = pipeline.run(dated(["d2"], ("events", "others")))
    (load_id,) = info.loads_ids
    records = stored_records(get_catalog(lakehouse_env), "raw", NAME)
    assert set(records) == {"events", "others"}
    for record in records.values():
        assert record["load_id"] == load_id
        assert record["jobs"] == {"events": 1, "others": 1}
        assert len(record["done"]) == 1
        assert record["sources"][NAME]["resources"]["events"]["ledger"] == ["d1", "d2"]
        assert record["base"][NAME]["resources"]["events"]["ledger"] == ["d1"]
    assert tables_missing(records["events"], records) == []
    # Had ``others`` not committed the load, its base would be the state that counts.
    del records["others"]
    assert tables_missing(records["events"], records) == ["others"]
    assert effective_sources(records)[NAME]["resources"]["others"]["ledger"] == ["d1"]


def test_the_projects_dlt_settings_leave_other_pipelines_alone(lakehouse_env, tmp_path) -> None:
    """Two pipelines in one process: the project's lineage column and state handling are set
    for its own pipeline only; a user's pipeline keeps dlt's defaults."""
    columns: dict[str, list[str]] = {}

    @dlt.destination(batch_size=0, loader_file_format="parquet", skip_dlt_columns_and_tables=False)
    def capture(items, table) -> None:
        if not table["name"].startswith("_dlt"):
            columns[table["name"]] = pq.read_schema(items).names

    ours = make_pipeline(lakehouse_env, name=NAME)
    theirs = dlt.pipeline("theirs", destination=capture, pipelines_dir=str(tmp_path / "theirs"))
    theirs.run([pa.table({"id": [1]})], table_name="plain")
    ours.run(dated(["d1"], ("events",)))
    assert columns == {"plain": ["id"]}
    assert (
        "_dlt_load_id"
        in get_catalog(lakehouse_env).load_table(("raw", "events")).schema().column_names
    )
    assert ours.config.restore_from_destination is False
    assert theirs.config.restore_from_destination is True
