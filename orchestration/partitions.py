"""Daily partitions by business date, shared by every asset so the graph is one piece."""

from __future__ import annotations

import dagster as dg

from ingestion.shop.settings import START_DATE

business_date_partitions = dg.DailyPartitionsDefinition(
    start_date=START_DATE.isoformat(), timezone="UTC"
)

# A backfill of a date range runs as one run that loads the dates in order: dlt's ledger and the
# single-writer embedded engine both want one writer at a time, and one run is faster than N.
single_run_backfill = dg.BackfillPolicy.single_run()
