"""The raw write path: a dlt custom destination committing dlt's Parquet files to Iceberg.

Built on dlt's documented custom destination (``dlt.destination`` with ``batch_size=0`` and
``loader_file_format="parquet"``): dlt hands over each load job's Parquet file and its table
schema, and this destination commits the file to ``<namespace>.<table>`` with pyiceberg's
``add_files`` (``ingestion.iceberg_files``), so a row is encoded to Parquet once, by dlt. The table
lives at ``<warehouse>/<namespace>/<table>``, where dlt's filesystem destination put it before.

* ``append``: one commit per job, exactly once by the job's marker in the snapshot summary.
* ``merge``: an upsert on the table's primary key, one commit per job.
* every commit also records the pipeline's source state (ledgers, dataset
  record) and how far its load got as a table property, so a run pod that starts with an empty
  working folder restores it, or rolls back a load cut short (``ingestion.pipeline_state``).

The load id is the file's own ``_dlt_load_id`` column (dlt's documented lineage column, read from
the Parquet footer's statistics); the job id is the table name and a digest of the file's bytes,
which stay the same when dlt runs the job again, after a retry or a killed process.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections import Counter
from typing import Any

import dlt
import pyarrow.parquet as pq
from dlt.common.destination.configuration import ParquetFormatConfiguration
from dlt.common.schema import TTableSchema
from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from ingestion import iceberg_files
from ingestion.iceberg_files import LOAD_ID_COLUMN
from ingestion.pipeline_state import load_base, load_record
from lakehouse.catalog import get_catalog
from lakehouse.settings import Settings

DESTINATION_NAME = "iceberg_raw"
# dlt logs to the logger named "dlt" (dlt docs, running-in-production/running.md).
logger = logging.getLogger(f"dlt.{__name__}")


def file_load_id(local_path: str) -> str | None:
    """The load id of a job file's rows (all rows of a job share it); None for a file of no rows.

    Parquet statistics give it without reading the column; a file written without them is read.
    """
    parquet = pq.ParquetFile(local_path)
    if LOAD_ID_COLUMN not in parquet.schema_arrow.names:
        raise ValueError(
            f"{local_path}: no {LOAD_ID_COLUMN} column; the raw destination needs dlt's load id "
            "in every row (ingestion.pipeline.make_pipeline configures it)"
        )
    if not parquet.metadata.num_rows:
        return None
    column = parquet.schema_arrow.names.index(LOAD_ID_COLUMN)
    statistics = parquet.metadata.row_group(0).column(column).statistics
    if statistics is not None and statistics.has_min_max:
        value = statistics.min
        return value.decode() if isinstance(value, bytes) else str(value)
    first = next(parquet.iter_batches(batch_size=1, columns=[LOAD_ID_COLUMN]))
    return str(first.column(0)[0].as_py())


def file_job_id(table_name: str, local_path: str) -> str:
    """The job's id: its table and the digest of its file, unchanged when dlt runs it again."""
    digest = hashlib.sha256()
    with open(local_path, "rb") as file:
        while chunk := file.read(8 << 20):
            digest.update(chunk)
    return f"{table_name}.{digest.hexdigest()[:32]}"


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
    place = f"{load_id}-{job_id}.parquet"
    disposition = dlt_table.get("write_disposition", "append")
    if disposition == "append":
        iceberg_files.commit_append(table, local_path, place, properties, table_properties)
    elif disposition == "merge":
        columns = dlt_table.get("columns", {})
        keys = [name for name, column in columns.items() if column.get("primary_key")]
        if not keys:
            raise ValueError(f"{table.name()}: a merge needs a primary key; none is declared")
        iceberg_files.merge_file(table, local_path, keys, place, properties, table_properties)
    else:
        raise ValueError(
            f"{table.name()}: write disposition {disposition!r} is not supported by the raw "
            "destination (append and merge are)"
        )


def package_jobs(pipeline: dlt.Pipeline, load_id: str) -> dict[str, int]:
    """Each data table of load ``load_id``'s package and its number of jobs with rows.

    Read with ``Pipeline.get_load_package_info``: its ``jobs`` by state, each job's
    ``job_file_info`` and file (dlt docs: reference/performance, "parallel_config" snippet;
    running-in-production/running.md, "Inspect and save the load info"; ``file_path``,
    ``table_name`` and ``file_id`` are fields of the job info tuples it returns).
    dlt's loader moves job files between the package's folders while this runs, so a listing can
    miss a file on the move (or find it gone): three listings are merged; a job moves at most
    twice (new, started, completed) and cannot hide from all three.
    """
    seen: dict[tuple[str, str], bool] = {}
    listings = 0
    for _ in range(10):
        try:
            info = pipeline.get_load_package_info(load_id)
            for job in (job for jobs in info.jobs.values() for job in jobs):
                name = job.job_file_info
                if not name.table_name.startswith("_dlt"):
                    key = (name.table_name, name.file_id)
                    seen[key] = seen.get(key) or bool(
                        pq.ParquetFile(job.file_path).metadata.num_rows
                    )
        except FileNotFoundError:
            continue  # a file moved between the listing and its read: list again
        listings += 1
        if listings == 3:
            return dict(Counter(table for (table, _), rows in seen.items() if rows))
    raise RuntimeError(
        f"load {load_id}: the package's job files kept moving while they were listed; "
        "dlt runs the job again"
    )


def iceberg_destination(settings: Settings, namespace: str) -> Any:
    """A dlt destination writing every table of a load into ``namespace`` of the catalog."""
    loads: dict[str, tuple[Any, dict[str, int]]] = {}  # load id: (its base state, its jobs)
    lock = threading.Lock()

    def load_context(pipeline: dlt.Pipeline, load_id: str) -> tuple[Any, dict[str, int]]:
        with lock:  # once per load and process; dlt calls the destination from load threads
            if load_id not in loads:
                catalog = get_catalog(settings)
                base = load_base(catalog, namespace, pipeline.pipeline_name, load_id)
                loads[load_id] = (base, package_jobs(pipeline, load_id))
            return loads[load_id]

    def commit(items: Any, table: TTableSchema) -> None:
        name = table["name"]
        if name.startswith("_dlt"):
            return  # dlt's bookkeeping tables (its state is kept as table properties)
        local_path = str(items)
        catalog = get_catalog(settings)
        iceberg = open_or_create(catalog, namespace, name, local_path, settings.warehouse_uri)
        load_id = file_load_id(local_path)
        if load_id is None:
            return  # a job of no rows (not counted in the load's jobs): nothing to commit
        pipeline = dlt.current.pipeline()
        job_id = file_job_id(name, local_path)
        base, jobs = load_context(pipeline, load_id)
        state = load_record(iceberg, pipeline, load_id, job_id, base, jobs)
        commit_job(iceberg, local_path, table, load_id, job_id, state)

    return dlt.destination(
        commit,
        name=DESTINATION_NAME,
        batch_size=0,
        loader_file_format="parquet",
        naming_convention="snake_case",
        # dlt's load id column is wanted (lineage); its bookkeeping tables are skipped above.
        skip_dlt_columns_and_tables=False,
        # One job per table at a time (dlt docs, destinations/destination.md): a table's record
        # of its committed jobs (ingestion.pipeline_state) is read and rewritten by one job only.
        loader_parallelism_strategy="table-sequential",
    )(
        # A capability passed to the factory (dlt docs: general-usage/destination.md, "Pass
        # additional parameters and change destination capabilities"; the parquet writer's
        # `supports_dictionary_encoding`: dlt-ecosystem/file-formats/parquet.md, "Destination
        # autoconfig"): dlt's load id column as plain strings. Its default, a dictionary column,
        # is a type Iceberg lacks, and pyiceberg cannot concatenate such a file's rows with its
        # own files' rows on read.
        parquet_format=ParquetFormatConfiguration(supports_dictionary_encoding=False),
    )
