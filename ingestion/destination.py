"""The raw write path: a dlt custom destination committing dlt's Parquet files to Iceberg.

Built on dlt's documented custom destination (``dlt.destination`` with ``batch_size=0`` and
``loader_file_format="parquet"``): dlt hands over each load job's Parquet file and its table
schema, and this destination commits the file to ``<namespace>.<table>`` with pyiceberg's
``add_files`` (``ingestion.iceberg_files``), so a row is encoded to Parquet once, by dlt. The table
lives at ``<warehouse>/<namespace>/<table>``, where dlt's filesystem destination put it before.

* ``append``: one commit per job, exactly once by the job's marker in the snapshot summary.
* ``merge``: an upsert on the table's primary key, one commit per job.
* every commit also records the pipeline's source state (ledgers, dataset record) as a table
  property, so a run pod that starts with an empty working folder restores it
  (``ingestion.pipeline_state``).

The load id is dlt's public ``dlt.current.load_package_state()``; the job id is the job file's name
without its retry count (``ParsedLoadJobFileName``), the same across dlt's retries of a job.
"""

from __future__ import annotations

from typing import Any

import dlt
from dlt.common import logger
from dlt.common.destination.configuration import ParquetFormatConfiguration
from dlt.common.schema import TTableSchema
from dlt.common.schema.utils import get_columns_names_with_prop
from dlt.common.storages.load_package import ParsedLoadJobFileName
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from ingestion import iceberg_files
from ingestion.pipeline_state import state_properties
from lakehouse.catalog import get_catalog
from lakehouse.settings import Settings

DESTINATION_NAME = "iceberg_raw"


def open_or_create(
    catalog: Catalog, namespace: str, name: str, local_path: str, warehouse_uri: str
) -> Table:
    """The job's table, created from the job file's schema at dlt's usual location if new."""
    return catalog.create_table_if_not_exists(
        (namespace, name),
        schema=iceberg_files.file_schema(local_path),
        location=f"{warehouse_uri.rstrip('/')}/{namespace}/{name}",
    )


def commit_job(
    table: Table,
    local_path: str,
    dlt_table: TTableSchema,
    load_id: str,
    job_id: str,
    table_properties: dict[str, str] | None = None,
) -> None:
    """Commit one load job's file to ``table`` according to its write disposition, setting
    ``table_properties`` in the same commit."""
    properties = iceberg_files.marker(load_id, job_id)
    if (load_id, job_id) in iceberg_files.committed_jobs(table):
        logger.warning(
            f"{table.name()}: job {job_id} of load {load_id} was committed before the process "
            "stopped; not appending it again"
        )
        return
    place = f"{load_id}-{job_id}"
    disposition = dlt_table.get("write_disposition", "append")
    if disposition == "append":
        iceberg_files.commit_append(table, local_path, place, properties, table_properties)
    elif disposition == "merge":
        keys = get_columns_names_with_prop(dlt_table, "primary_key")
        if not keys:
            raise ValueError(f"{table.name()}: a merge needs a primary key; none is declared")
        iceberg_files.merge_file(table, local_path, keys, place, properties, table_properties)
    else:
        raise ValueError(
            f"{table.name()}: write disposition {disposition!r} is not supported by the raw "
            "destination (append and merge are)"
        )


def iceberg_destination(settings: Settings, namespace: str) -> Any:
    """A dlt destination writing every table of a load into ``namespace`` of the catalog."""

    def commit(items: Any, table: TTableSchema) -> None:
        name = table["name"]
        if name.startswith("_dlt"):
            return  # dlt's bookkeeping tables (its state is kept as table properties)
        local_path = str(items)
        load_id = dlt.current.load_package_state()["load_id"]
        job_id = ParsedLoadJobFileName.parse(local_path).job_id()
        catalog = get_catalog(settings)
        iceberg = open_or_create(catalog, namespace, name, local_path, settings.warehouse_uri)
        state = state_properties(dlt.current.pipeline())
        commit_job(iceberg, local_path, table, load_id, job_id, state)

    return dlt.destination(
        commit,
        name=DESTINATION_NAME,
        batch_size=0,
        loader_file_format="parquet",
        naming_convention="snake_case",
        # dlt's load id column is wanted (lineage); its bookkeeping tables are skipped above.
        skip_dlt_columns_and_tables=False,
    )(
        # A capability passed to the factory (dlt ``Destination.capabilities``): dlt's load id
        # column as plain strings. Its default, a dictionary column, is a type Iceberg lacks, and
        # pyiceberg cannot concatenate such a file's rows with its own files' rows on read.
        parquet_format=ParquetFormatConfiguration(supports_dictionary_encoding=False),
    )
