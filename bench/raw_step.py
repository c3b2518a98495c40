"""The raw step alone, three ways, over the same recording (``python -m bench.raw_step MODE``).

* ``raw``: the project's write path (``ingestion.pipeline``: dlt extracts and normalizes to
  Parquet once, the files are committed to Iceberg as they are);
* ``write_floor``: a bare pyiceberg append of the recorded Arrow data, one append per table, into
  a fresh SQL catalog: no dlt, no ledger, no merge (issue 18's write floor);
* ``peer``: the stock assembly a user would build from the docs, dlt's filesystem destination with
  ``table_format="iceberg"`` on the same catalog (dlt's own Iceberg job, its merge in batches).

Each writes a JSON report: seconds of the work (imports and reading the recording's file list
excluded), rows loaded, and bytes this process passed to write calls (``/proc/<pid>/io``
``wchar`` through psutil: files, whatever the page cache does with them, plus its few log
lines), so ``bytes_per_row`` counts every encoding and copy of a row.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date
from pathlib import Path

import dlt
import psutil
import pyarrow.parquet as pq

from bench.generate import business_dates
from ingestion.shop.generator import TABLES
from lakehouse.catalog import catalog_properties, ensure_namespace, get_catalog
from lakehouse.inventory import table_row_count
from lakehouse.layers import Layer
from lakehouse.settings import CATALOG_NAME, Settings

MODES = ("raw", "write_floor", "peer")


def write_floor(settings: Settings, recording: Path, days: list[date]) -> None:
    catalog = get_catalog(settings)
    ensure_namespace(catalog, Layer.RAW.value)
    for table in TABLES:
        files = [recording / table / f"{day}.parquet" for day in days]
        iceberg = catalog.create_table((Layer.RAW.value, table), schema=pq.read_schema(files[0]))
        with iceberg.transaction() as tx:  # one commit per table, a day in memory at a time
            for path in files:
                tx.append(pq.read_table(path))


def project_raw(settings: Settings, recording: Path, days: list[date]) -> None:
    from ingestion.pipeline import make_pipeline
    from ingestion.shop import shop

    source = shop(days[0], last_business_date=days[-1], replay_dir=str(recording))
    make_pipeline(settings).run(source).raise_on_failed_jobs()


def stock_pipeline(settings: Settings) -> dlt.Pipeline:
    """dlt's documented Iceberg setup: the filesystem destination plus ``[iceberg_catalog]``."""
    properties = catalog_properties(settings)
    dlt.config["iceberg_catalog.iceberg_catalog_name"] = CATALOG_NAME
    dlt.config["iceberg_catalog.iceberg_catalog_type"] = properties["type"]
    dlt.config["iceberg_catalog.iceberg_catalog_config"] = properties
    ensure_namespace(get_catalog(settings), Layer.RAW.value)
    return dlt.pipeline(
        pipeline_name="peer",
        destination=dlt.destinations.filesystem(bucket_url=settings.warehouse_uri),
        dataset_name=Layer.RAW.value,
        pipelines_dir=str(settings.dlt_pipelines_dir),
    )


def peer_raw(settings: Settings, recording: Path, days: list[date]) -> None:
    from ingestion.shop import shop

    source = shop(days[0], last_business_date=days[-1], replay_dir=str(recording))
    stock_pipeline(settings).run(source).raise_on_failed_jobs()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=MODES)
    parser.add_argument("--recording", type=Path, required=True)
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--report", type=Path, required=True)
    args = parser.parse_args()
    settings = Settings.from_env()
    days = business_dates(args.days)
    run = {"raw": project_raw, "write_floor": write_floor, "peer": peer_raw}[args.mode]
    process = psutil.Process()
    written = process.io_counters().write_chars
    started = time.perf_counter()
    run(settings, recording=args.recording, days=days)
    seconds = time.perf_counter() - started
    written = process.io_counters().write_chars - written
    catalog = get_catalog(settings)
    rows = sum(table_row_count(catalog.load_table((Layer.RAW.value, t))) for t in TABLES)
    report = {
        "seconds": seconds,
        "rows": rows,
        "bytes_written": written,
        "bytes_per_row": written / rows if rows else None,
    }
    args.report.write_text(json.dumps(report))


if __name__ == "__main__":
    main()
