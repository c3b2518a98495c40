"""dlt source ``landing``: files dropped in a landing folder, validated, into ``raw``.

Files land under ``<root>/<source>/<ingest_date>/<table>[-<part>].<csv|jsonl|parquet>[.gz|.zst]``
(a local folder or any fsspec URL, e.g. ``s3://bucket/landing``). Each is read in batches and
validated against its declared :class:`TableContract`: good rows go to ``raw.<source>_<table>``
with their source file and line, bad records and unreadable files to ``raw.quarantine`` with the
reason, file, first line and exact text (see reader.py for the policy). A ledger of
processed files (path -> size + etag/mtime) in dlt state, committed with the load package, makes
sure no file is loaded twice; a file rewritten in place (new fingerprint) is loaded again.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from ingestion.landing import settings
from ingestion.landing.helpers import Batch, LandedFile, Rejection, TableContract, list_files
from ingestion.landing.naming import with_table
from ingestion.landing.reader import read_file

__all__ = ["QUARANTINE_SCHEMA", "TableContract", "landing", "last_run_report"]

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("source", pa.string(), nullable=False),
        pa.field("table_name", pa.string(), nullable=False),
        pa.field("ingest_date", pa.string(), nullable=False),
        pa.field("file", pa.string(), nullable=False),
        pa.field("line", pa.int64()),  # null: the whole file was rejected
        pa.field("reason", pa.string(), nullable=False),
        pa.field("record", pa.string()),  # the bad record's exact text, cut to RECORD_PREVIEW_CHARS
        pa.field("quarantined_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)

# dlt logs to the logger named "dlt" (dlt docs, running-in-production/running.md).
logger = logging.getLogger(f"dlt.{__name__}")


@dlt.source(name="landing", max_table_nesting=0)
def landing(
    root: str,
    source: str,
    contracts: Mapping[str, TableContract],
    ingest_date: date | str | None = None,
    storage_options: dict[str, Any] | None = None,
) -> DltResource:
    """Landed files of ``source`` (one ``ingest_date`` folder, or all of them if None).

    Args:
        root: the landing folder or URL (``/data/landing``, ``s3://bucket/landing``).
        source: the sending system; its tables land as ``raw.<source>_<table>``.
        contracts: table -> declared schema and primary key.
        ingest_date: the folder to process; None processes every date folder.
        storage_options: fsspec options (e.g. S3 ``key``/``secret``/``client_kwargs``).
    """
    day = ingest_date.isoformat() if isinstance(ingest_date, date) else ingest_date
    return dlt.resource(
        _landed_rows(root, source, dict(contracts), day, storage_options),
        name=f"{source}_files",
        table_format="iceberg",
        write_disposition="append",
    )


def _landed_rows(
    root: str,
    source: str,
    contracts: dict[str, TableContract],
    day: str | None,
    storage_options: dict[str, Any] | None,
) -> Iterator[Any]:
    state = dlt.current.resource_state()
    ledger: dict[str, str] = state.setdefault(settings.LEDGER_KEY, {})
    report: Counter[str] = Counter()
    rows_by_table: Counter[str] = Counter()
    for listed in list_files(root, source, day, storage_options):
        landed = with_table(listed, contracts)  # the table its name matches, or why none
        if ledger.get(landed.url) == landed.fingerprint:
            report["files_skipped"] += 1
            continue
        if landed.url in ledger:
            logger.warning(f"landing: {landed.url} changed since it was loaded; loading it again")
        table_name = f"{source}_{landed.table}"
        warned = 0
        for batch in _read(landed, contracts, storage_options):
            if batch.rows is not None and batch.rows.num_rows:
                contract = contracts[landed.table]
                rows_by_table[table_name] += batch.rows.num_rows
                yield dlt.mark.with_hints(
                    batch.rows,
                    dlt.mark.make_hints(
                        table_name=table_name,
                        write_disposition="append",
                        table_format="iceberg",
                        columns=batch.rows.schema,  # a pyarrow schema (``dlt.mark.make_hints``)
                        primary_key=list(contract.primary_key) or None,
                    ),
                    create_table_variant=True,
                )
            if batch.rejections:
                report["rows_quarantined"] += len(batch.rejections)
                yield dlt.mark.with_hints(
                    _quarantine(source, landed, batch.rejections),
                    dlt.mark.make_hints(
                        table_name=settings.QUARANTINE_TABLE,
                        write_disposition="append",
                        table_format="iceberg",
                        columns=QUARANTINE_SCHEMA,
                    ),
                    create_table_variant=True,
                )
                for rejection in batch.rejections[: max(0, 5 - warned)]:
                    where = f"line {rejection.line}" if rejection.line else "file"
                    logger.warning(
                        f"landing: quarantined {rejection.file} {where}: {rejection.reason}"
                    )
                warned += len(batch.rejections)
        report["files_processed"] += 1
        # Recorded after the file's rows were handed over; committed with the load package.
        ledger[landed.url] = landed.fingerprint
    report["rows_loaded"] = sum(rows_by_table.values())
    state[settings.REPORT_KEY] = {**report, "rows_by_table": dict(rows_by_table)}
    logger.info(
        f"landing {source}: {report['files_processed']} file(s) processed, "
        f"{report['files_skipped']} already loaded, {report['rows_loaded']} row(s) loaded, "
        f"{report['rows_quarantined']} quarantined"
    )


def _read(
    landed: LandedFile, contracts: dict[str, TableContract], options: dict[str, Any] | None
) -> Iterator[Batch]:
    if landed.problem:  # matches no single table (naming.with_table), or cannot be read
        yield Batch(rejections=[Rejection(landed.url, None, landed.problem)])
        return
    contract = contracts[landed.table]  # with_table set a problem for any other name
    line = None
    try:
        for batch in read_file(landed, contract, options):
            if batch.rows is not None and batch.rows.num_rows:
                line = batch.rows[settings.SOURCE_LINE_COLUMN][-1].as_py()
            yield batch
    except Exception as exc:  # an unforeseen reader failure still must not stop the run
        done = f" after line {line} (the rows up to it were loaded)" if line else ""
        reason = f"unreadable file{done}: {exc!r}"
        yield Batch(rejections=[Rejection(landed.url, None, reason)])


def _quarantine(source: str, landed: LandedFile, rejections: list[Rejection]) -> pa.Table:
    now = datetime.now(UTC)
    return pa.Table.from_pylist(
        [
            {
                "source": source,
                "table_name": landed.table,
                "ingest_date": landed.ingest_date,
                "file": r.file,
                "line": r.line,
                "reason": r.reason,
                "record": r.record,
                "quarantined_at": now,
            }
            for r in rejections
        ],
        schema=QUARANTINE_SCHEMA,
    )


def last_run_report(pipeline: dlt.Pipeline, source: str) -> dict[str, Any]:
    """Counts of the pipeline's last landing run: files processed/skipped, rows loaded/quarantined."""
    resource = pipeline.state.get("sources", {}).get("landing", {}).get("resources", {})
    return dict(resource.get(f"{source}_files", {}).get(settings.REPORT_KEY, {}))
