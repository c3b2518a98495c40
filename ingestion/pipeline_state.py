"""dlt pipeline state kept with the data, for run pods that start with an empty working folder.

dlt keeps the sources' state (the shop's ledger of loaded dates and dataset record, the landing
ledger of files) in the pipeline's working folder and commits it with each load package as the
``_dlt_pipeline_state`` table. dlt restores it from a destination only for destinations with
state sync, which a custom destination is not; ``ingestion.destination`` therefore appends that
table to Iceberg like any other, and :func:`restore_sources` reads the newest row back when the
working folder has no source state yet (a fresh Kubernetes run pod; on the local profile the
folder persists and nothing is read).
"""

from __future__ import annotations

import dlt
import pyarrow.compute as pc
from dlt.common.versioned_state import decompress_state
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.expressions import EqualTo

from ingestion.destination import STATE_TABLE


def stored_sources(catalog: Catalog, namespace: str, pipeline_name: str) -> dict | None:
    """The ``sources`` part of the pipeline's newest stored state, or None if none is stored."""
    try:
        table = catalog.load_table((namespace, STATE_TABLE))
    except NoSuchTableError:
        return None
    rows = table.scan(
        row_filter=EqualTo("pipeline_name", pipeline_name),
        selected_fields=("created_at", "state"),
    ).to_arrow()
    if not rows.num_rows:
        return None
    # created_at, not the state version: a restored state counts its versions on from its own.
    newest = rows.take([pc.index(rows["created_at"], pc.max(rows["created_at"])).as_py()])
    return decompress_state(newest["state"][0].as_py()).get("sources", {})


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
