"""dlt source state kept with the data, for run pods that start with an empty working folder.

dlt keeps the sources' state (the shop's ledger of loaded dates and dataset record, the landing
ledger of files) in the pipeline's working folder. It restores that state from a destination
only for destinations with state sync, which a custom destination is not, so the project keeps
it itself: every load job's commit also sets the table property ``dlt.state.<pipeline>`` to a
record of its load (:func:`load_record`, in the same Iceberg transaction as the rows):

* ``load_id`` and ``sources``: the pipeline's source state once the load is in;
* ``base``: the source state the load started from (the state before its extract);
* ``jobs``: every data table of the load's package and its number of jobs;
* ``done``: the jobs of the load this table has committed.

:func:`restore_sources` puts the stored state into a pipeline whose working folder has none (a
fresh Kubernetes run pod; on the local profile the folder persists and nothing is read). It takes
the newest load. When that load is complete (every table of its package committed all its
jobs), its ``sources`` are restored. When it is not (a run killed after some tables committed,
on a pod whose working folder, and so the pending package, is lost), the load is rolled back: its
rows are deleted from the tables that committed them and its ``base`` is restored, so the next
run extracts the whole load again and every table gets its rows once. Before this, the newest
state marked the load's data loaded, and the tables that had not committed never got the rows.

Newest means the highest load id, dlt's own rule for restoring state: load ids are the unix time
their package was created and increase over a pipeline's loads (dlt 1.31
``dlt/common/storages/load_package.py``, ``create_load_id``).

The record is JSON, the types dlt's state holds for these sources (strings, numbers, lists,
dicts); a value JSON cannot hold is refused before anything is committed.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

import dlt
from pyiceberg.catalog import Catalog
from pyiceberg.expressions import EqualTo
from pyiceberg.table import Table

from ingestion.iceberg_files import LOAD_ID_COLUMN

STATE_PROPERTY_PREFIX = "dlt.state."
logger = logging.getLogger(f"dlt.{__name__}")

Record = dict[str, Any]


def state_key(pipeline_name: str) -> str:
    return f"{STATE_PROPERTY_PREFIX}{pipeline_name}"


def encode(record: Record) -> str:
    try:
        text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    except TypeError as exc:
        raise TypeError(
            f"the pipeline's source state holds a value JSON cannot store ({exc}); the raw "
            "destination keeps source state as JSON: store strings, numbers, lists and dicts"
        ) from exc
    return base64.b64encode(zlib.compress(text.encode(), 9)).decode()


def decode(value: str) -> Record:
    return json.loads(zlib.decompress(base64.b64decode(value)))


def stored_records(catalog: Catalog, namespace: str, pipeline_name: str) -> dict[str, Record]:
    """Each table's record of the pipeline's last load it committed, by table name."""
    key, records = state_key(pipeline_name), {}
    for identifier in catalog.list_tables(namespace):
        if value := catalog.load_table(identifier).properties.get(key):
            records[identifier[-1]] = decode(value)
    return records


def newest(records: Mapping[str, Record]) -> Record | None:
    """The record of the newest load (ties, one load's records, go to the table name)."""
    ordered = sorted(records.items(), key=lambda r: (float(r[1]["load_id"]), r[0]))
    return ordered[-1][1] if ordered else None


def tables_missing(load: Record, records: Mapping[str, Record]) -> list[str]:
    """The tables of ``load``'s package that have not committed all their jobs of it."""
    return sorted(
        table
        for table, jobs in load["jobs"].items()
        if table not in records
        or records[table]["load_id"] != load["load_id"]
        or len(records[table]["done"]) < jobs
    )


def effective_sources(records: Mapping[str, Record]) -> dict[str, Any]:
    """The source state the stored data stands for: the newest load's, or, if that load is
    incomplete, the state it started from."""
    load = newest(records)
    if load is None:
        return {}
    return load["base"] if tables_missing(load, records) else load["sources"]


def load_record(
    table: Table,
    pipeline: dlt.Pipeline,
    load_id: str,
    job_id: str,
    base: dict[str, Any],
    jobs: dict[str, int],
) -> dict[str, str]:
    """The property recording that ``table`` committed job ``job_id`` of load ``load_id``."""
    key = state_key(pipeline.pipeline_name)
    done: set[str] = set()
    if (value := table.properties.get(key)) and (previous := decode(value))["load_id"] == load_id:
        done = set(previous["done"])
    record = {
        "load_id": load_id,
        "sources": pipeline.state.get("sources", {}),
        "base": base,
        "jobs": jobs,
        "done": sorted(done | {job_id}),
    }
    return {key: encode(record)}


def load_base(catalog: Catalog, namespace: str, pipeline_name: str, load_id: str) -> Any:
    """The source state load ``load_id`` started from, as its first commit finds the catalog
    (a later commit of the same load, also after a resume, copies it from a record of it)."""
    records = stored_records(catalog, namespace, pipeline_name)
    for record in records.values():
        if record["load_id"] == load_id:
            return record["base"]
    return effective_sources(records)


def roll_back(catalog: Catalog, namespace: str, load: Record, records: dict[str, Record]) -> None:
    """Delete an incomplete load's rows from the tables that committed some of them.

    A table's rows of the load carry its id in dlt's load id column. Deleting them again finds
    nothing, so a rollback cut short is finished by the next restore. Rows a merge replaced are
    deleted too and come back when the load is extracted again (the sources are deterministic).
    """
    for table, record in sorted(records.items()):
        if record["load_id"] == load["load_id"]:
            iceberg = catalog.load_table((namespace, table))
            iceberg.delete(EqualTo(LOAD_ID_COLUMN, load["load_id"]))


def restore_sources(pipeline: dlt.Pipeline, catalog: Catalog, namespace: str) -> bool:
    """Put the stored source state into a pipeline that has none; True if it did.

    Each source's state is set the way a source sets its own, ``dlt.current.source_state()``,
    by running a source of that name which yields no rows: dlt then keeps it in the working
    folder as after a load.
    """
    if pipeline.state.get("sources"):
        return False
    records = stored_records(catalog, namespace, pipeline.pipeline_name)
    load = newest(records)
    if load is None:
        return False
    if missing := tables_missing(load, records):
        logger.warning(
            f"load {load['load_id']} of pipeline {pipeline.pipeline_name} stopped before "
            f"{', '.join(missing)} committed, and its package is gone with the working folder: "
            "rolling it back, so the next run loads it again in full"
        )
        roll_back(catalog, namespace, load, records)
    sources = effective_sources(records)
    for name, state in sources.items():
        pipeline.run(restored_source(name, state))
    return bool(sources)


def restored_source(name: str, state: dict[str, Any]) -> Any:
    """A dlt source named ``name`` that sets its state to ``state`` and yields no rows."""

    def restore() -> Iterator[Any]:
        dlt.current.source_state().update(copy.deepcopy(state))
        yield from ()

    def resources() -> Any:
        return dlt.resource(restore, name="restored_state")

    return dlt.source(resources, name=name)()
