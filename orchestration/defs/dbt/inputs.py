"""Skip an incremental dbt build that already succeeded for the same dates on the same inputs.

A silver model recomputes the keys touched in the run's window of business dates from their
whole history. If every partition of the window was built when every raw Iceberg table was at
its current snapshot and no model, test or macro has changed since, building it again would
write the same rows: the fixed cost of a run with no new data is then dlt's check plus this
comparison, not a dbt build.

The record is the Dagster instance's own: each materialization of an incremental model carries
the fingerprint of its inputs (``INPUTS_KEY``), and the check reads the latest materialization
of each asset partition (``DagsterInstance.fetch_materializations``). The instance is the one
every run shares (a SQLite file on the embedded default, Postgres in the cluster), so nothing
lives in a pod's filesystem; a date or model never built, or built on other inputs, is built.

The step holds the models upstream of the incremental ones too (the bronze views, ``dim_date``):
they are a function of the raw snapshots and the project, and their tests check the window's
rows, so the same record covers them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import dagster as dg

from lakehouse.catalog import layer_tables
from lakehouse.layers import Layer

if TYPE_CHECKING:
    from pyiceberg.catalog import Catalog
    from pyiceberg.table import Table

# Materialization metadata: the fingerprint of the raw snapshots and dbt project it was built on.
INPUTS_KEY = "lakehouse/dbt_inputs"


def data_snapshot_id(table: Table) -> int | None:
    """The id of the newest snapshot in the table's current history that changed its rows.

    Compaction rewrites files and keeps the rows: Trino's ``optimize`` commits a ``replace``
    (Iceberg spec: "Data and delete files were added and removed without changing table data"),
    the project's pyiceberg compaction marks its commits with ``COMPACTION_PROPERTY``. Keyed on
    the current snapshot instead, a night's compaction made the next day's step rebuild all.
    When expiry has cut the history short, the oldest snapshot left stands in (a rebuild at
    worst, never a wrong skip).
    """
    # pyiceberg when a step compares, not when the code location loads (the defs loader imports
    # every module of this folder)
    from pyiceberg.table.snapshots import Operation, ancestors_of

    from lakehouse.maintenance.compact import COMPACTION_PROPERTY

    found = None
    for snapshot in ancestors_of(table.current_snapshot(), table.metadata):
        found = snapshot.snapshot_id
        summary = snapshot.summary
        compaction = summary is not None and (
            summary.operation == Operation.REPLACE or summary.get(COMPACTION_PROPERTY)
        )
        if not compaction:
            break
    return found


def raw_snapshots(catalog: Catalog) -> dict[str, int | None]:
    """The data snapshot id of every raw table (metadata only, no data read)."""
    return {
        name: data_snapshot_id(table) for name, table in layer_tables(catalog, Layer.RAW).items()
    }


def project_checksums(manifest: Mapping[str, Any]) -> dict[str, str]:
    """Checksums of every model, test, source and project macro: what dbt would run."""
    checksums = {uid: node["checksum"]["checksum"] for uid, node in manifest["nodes"].items()}
    project = manifest["metadata"].get("project_name")
    for uid, macro in manifest["macros"].items():
        if macro.get("package_name") == project:
            checksums[uid] = hashlib.sha256(macro["macro_sql"].encode()).hexdigest()
    return checksums


def fingerprint(catalog: Catalog, manifest: Mapping[str, Any]) -> str:
    """The raw snapshots and the project."""
    payload = {"raw": raw_snapshots(catalog), "project": project_checksums(manifest)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def built_on(
    instance: dg.DagsterInstance,
    keys: Iterable[dg.AssetKey],
    partitions: Iterable[str],
    inputs: str,
) -> bool:
    """Whether the latest materialization of every (asset, partition) was built on ``inputs``
    by a run that succeeded.

    dagster-dbt reports a model as soon as dbt built it, before its tests ran: a run whose audit
    (an error-level test) or publish failed still recorded the model with its inputs. Skipping on
    such a record would leave the published tables on the previous build.
    """
    partitions = list(partitions)
    for key in keys:
        for partition in partitions:
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=key, asset_partitions=[partition]),
                limit=1,
            ).records
            if not records:
                return False
            recorded = records[0].asset_materialization.metadata.get(INPUTS_KEY)
            if recorded is None or recorded.value != inputs:
                return False
            run = instance.get_run_by_id(records[0].run_id)
            if run is None or run.status != dg.DagsterRunStatus.SUCCESS:
                return False
    return True
