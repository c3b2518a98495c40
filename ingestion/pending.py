"""Which Iceberg snapshots the exactly-once load marker still needs (for snapshot expiry).

``ingestion.destination`` (through ``ingestion.iceberg_files``) records ``(load id, job id)`` in
the summary of every append it commits and skips an append whose marker is already in the table's
snapshot history. That history matters
only until dlt has finished the load: a package still pending (normalized, not yet fully loaded:
``Pipeline.list_normalized_load_packages``) may rerun a job whose rows are already committed.
Expiry keeps every snapshot whose marker belongs to such a load.
"""

from __future__ import annotations

from collections.abc import Callable

import dlt
from dlt.pipeline.exceptions import CannotRestorePipelineException
from pyiceberg.table.snapshots import Snapshot

from ingestion.destination import iceberg_destination
from ingestion.iceberg_files import LOAD_ID_PROPERTY
from lakehouse.layers import Layer
from lakehouse.settings import Settings


def pending_load_ids(settings: Settings) -> frozenset[str]:
    """Load ids of every dlt pipeline of ``settings`` that are not completely loaded."""
    pipelines_dir = settings.dlt_pipelines_dir
    if not pipelines_dir.is_dir():
        return frozenset()
    # The project's pipelines write raw through a destination built at run time, which dlt
    # cannot rebuild from a pipeline's stored state in another process: attach with it.
    destination = iceberg_destination(settings, Layer.RAW.value)
    pending: set[str] = set()
    for folder in sorted(p for p in pipelines_dir.iterdir() if p.is_dir()):
        try:
            pipeline = dlt.attach(
                folder.name, pipelines_dir=str(pipelines_dir), destination=destination
            )
        except CannotRestorePipelineException:
            continue  # not a pipeline dlt can restore: it has no package dlt could resume
        pending.update(pipeline.list_normalized_load_packages())
    return frozenset(pending)


def needed_by_pending_load(pending: frozenset[str]) -> Callable[[Snapshot], bool]:
    """A predicate: the snapshot carries the marker of one of the ``pending`` loads."""

    def needed(snapshot: Snapshot) -> bool:
        summary = snapshot.summary
        return summary is not None and summary.get(LOAD_ID_PROPERTY) in pending

    return needed
