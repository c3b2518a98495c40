"""dlt source state kept with the data, for run pods that start with an empty working folder.

dlt keeps the sources' state (the shop's ledger of loaded dates and dataset record, the landing
ledger of files) in the pipeline's working folder. It restores that state from a destination
only for destinations with state sync, which a custom destination is not, so the project keeps
it itself: a load job's commit also sets the table property ``dlt.state.<pipeline>`` to the
pipeline's source state and the load's id (:func:`state_properties`, in the same Iceberg
transaction as the rows). :func:`restore_sources` puts the newest such state into a pipeline
whose working folder has none (a fresh Kubernetes run pod; on the local profile the folder
persists and nothing is read).

Newest means the highest load id, dlt's own rule for restoring state: load ids are the unix time
their package was created and increase over a pipeline's loads (dlt 1.31
``dlt/common/storages/load_package.py``, ``create_load_id``). A counter kept inside the state
would not do: a pod that restored the state starts dlt's counter again, and its newer ledger
would lose to an older one (loading its dates again, twice).

The record is JSON, the types dlt's state holds for these sources (strings, numbers, lists,
dicts); a value JSON cannot hold is refused before anything is committed.
"""

from __future__ import annotations

import base64
import copy
import json
import zlib
from collections.abc import Iterator
from typing import Any

import dlt
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

STATE_PROPERTY_PREFIX = "dlt.state."


def state_key(pipeline_name: str) -> str:
    return f"{STATE_PROPERTY_PREFIX}{pipeline_name}"


def encode(record: dict[str, Any]) -> str:
    try:
        text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    except TypeError as exc:
        raise TypeError(
            f"the pipeline's source state holds a value JSON cannot store ({exc}); the raw "
            "destination keeps source state as JSON: store strings, numbers, lists and dicts"
        ) from exc
    return base64.b64encode(zlib.compress(text.encode(), 9)).decode()


def decode(value: str) -> dict[str, Any]:
    return json.loads(zlib.decompress(base64.b64decode(value)))


def state_properties(table: Table, pipeline: dlt.Pipeline, load_id: str) -> dict[str, str]:
    """The property recording ``pipeline``'s source state as of load ``load_id``; empty when
    ``table`` records exactly that already (another job of the same load committed it)."""
    key = state_key(pipeline.pipeline_name)
    value = encode({"load_id": load_id, "sources": pipeline.state.get("sources", {})})
    return {} if table.properties.get(key) == value else {key: value}


def stored_records(catalog: Catalog, namespace: str, key: str) -> Iterator[tuple[str, dict]]:
    for identifier in catalog.list_tables(namespace):
        if value := catalog.load_table(identifier).properties.get(key):
            yield ".".join(identifier), decode(value)


def stored_sources(catalog: Catalog, namespace: str, pipeline_name: str) -> dict[str, Any]:
    """The source state of the newest load any table of ``namespace`` records for the pipeline.

    Ties (tables written by the same load, hence the same state) go to the table name, so the
    choice never depends on the catalog's listing order.
    """
    records = stored_records(catalog, namespace, state_key(pipeline_name))
    newest = max(records, key=lambda r: (float(r[1]["load_id"]), r[0]), default=None)
    return newest[1]["sources"] if newest else {}


def restore_sources(pipeline: dlt.Pipeline, catalog: Catalog, namespace: str) -> bool:
    """Put the stored source state into a pipeline that has none; True if it did.

    Each source's state is set the way a source sets its own, ``dlt.current.source_state()``,
    by running a source of that name which yields no rows: dlt then keeps it in the working
    folder as after a load.
    """
    if pipeline.state.get("sources"):
        return False
    sources = stored_sources(catalog, namespace, pipeline.pipeline_name)
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
