"""Daily partitions by business date, shared by every asset so the graph is one piece."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import dagster as dg

from ingestion.shop.settings import START_DATE

business_date_partitions = dg.DailyPartitionsDefinition(
    start_date=START_DATE.isoformat(), timezone="UTC"
)

# A backfill of a date range runs as one run that loads the dates in order: dlt's ledger and the
# single-writer embedded engine both want one writer at a time, and one run is faster than N.
single_run_backfill = dg.BackfillPolicy.single_run()


def outside_partitions(keys: Iterable[str]) -> str | None:
    """One line naming the first key that is not a business-date partition, or None if all are.

    The UI offers only partitions, but ``dagster job execute --tags '{"dagster/partition": ...}'``
    and the command-line helpers take any text: a date before the shop's start or in the future
    would generate, commit and build data that no partition owns.
    """
    for key in keys:
        if not business_date_partitions.has_partition_key(key):
            first = business_date_partitions.get_first_partition_key()
            last = business_date_partitions.get_last_partition_key()
            return (
                f"business date {key!r} is not a partition: valid dates are {first} to {last} "
                "(UTC; a day becomes valid once it has ended)"
            )
    return None


def business_dates(context: dg.AssetExecutionContext) -> list[date]:
    """Every business date of the run's partition window, oldest first.

    Raises ``dg.Failure`` before the asset writes anything when the window is not made of
    partitions, so every interface (UI, ``dagster job execute``, ``dagster asset materialize``,
    the make targets) refuses the same dates.
    """
    keys = context.partition_key_range
    problem = outside_partitions([keys.start, keys.end])
    if problem:
        raise dg.Failure(description=f"{problem}. Nothing was written.", allow_retries=False)
    # From the run's keys, not its time window: an unpartitioned asset (a mart)
    # in a run for a date has the keys but no partitions definition of its own.
    return [
        date.fromisoformat(k) for k in business_date_partitions.get_partition_keys_in_range(keys)
    ]
