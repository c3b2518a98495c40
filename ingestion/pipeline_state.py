"""dlt source state kept with the data, for run pods that start with an empty working folder.

dlt keeps the sources' state (the shop's ledger of loaded dates and dataset record, the landing
ledger of files) in the pipeline's working folder. It restores that state from a destination
only for destinations with state sync, which a custom destination is not, so the project keeps
it itself: every commit of a load job also sets the table property ``dlt.state.<pipeline>`` to
the pipeline's source state as of that load (:func:`state_properties`, written in the same
Iceberg transaction as the rows). :func:`restore_sources` puts the newest such state into a
pipeline whose working folder has none (a fresh Kubernetes run pod; on the local profile the
folder persists and nothing is read). As with dlt's own state table, the newest state wins.
"""

from __future__ import annotations

from typing import Any

import dlt
from dlt.common.versioned_state import compress_state, decompress_state
from pyiceberg.catalog import Catalog

STATE_PROPERTY_PREFIX = "dlt.state."


def state_properties(pipeline: dlt.Pipeline) -> dict[str, str]:
    """The table property recording ``pipeline``'s source state and its version."""
    state = pipeline.state
    record = {"version": state.get("_state_version", 0), "sources": state.get("sources", {})}
    return {f"{STATE_PROPERTY_PREFIX}{pipeline.pipeline_name}": compress_state(record)}


def stored_sources(catalog: Catalog, namespace: str, pipeline_name: str) -> dict[str, Any]:
    """The newest source state any table of ``namespace`` records for ``pipeline_name``."""
    key = f"{STATE_PROPERTY_PREFIX}{pipeline_name}"
    newest: dict[str, Any] = {"version": -1, "sources": {}}
    for identifier in catalog.list_tables(namespace):
        if value := catalog.load_table(identifier).properties.get(key):
            record = decompress_state(value)
            if record["version"] > newest["version"]:
                newest = record
    return newest["sources"]


def restore_sources(pipeline: dlt.Pipeline, catalog: Catalog, namespace: str) -> bool:
    """Put the stored source state into a pipeline that has none; True if it did."""
    if pipeline.state.get("sources"):
        return False
    sources = stored_sources(catalog, namespace, pipeline.pipeline_name)
    if not sources:
        return False
    with pipeline.managed_state() as state:
        state["sources"] = sources
    return True
