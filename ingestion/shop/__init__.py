"""dlt source ``shop``: the daily increment of a deterministic synthetic e-commerce system.

One source call is one business date D, or a window of consecutive dates loaded as one
load: every resource yields exactly the rows whose ``_arrived_at`` falls on those dates (see
README.md for the table contract). Re-runs and out-of-order
backfills are idempotent through a per-resource ledger of loaded business dates kept in dlt
resource state, which dlt commits atomically with the load package.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import dlt
import pyarrow as pa
from dlt.sources import DltResource

from ingestion.shop import settings
from ingestion.shop.generator import (
    MERGE_TABLES,
    PRIMARY_KEYS,
    SCHEMAS,
    TABLES,
    ShopSimulator,
)
from ingestion.shop.replay import ParquetReplay

__all__ = ["DATASET_KEY", "LEDGER_KEY", "TABLES", "DatasetMismatch", "shop"]

LEDGER_KEY = "loaded_business_dates"
DATASET_KEY = "dataset"  # dlt source state: what generated the rows in raw (seed, scale, ...)
CURSOR = "_arrived_at"

# dlt logs to the logger named "dlt" (dlt docs, running-in-production/running.md).
logger = logging.getLogger(f"dlt.{__name__}")


class DatasetMismatch(ValueError):
    """The run would add rows of another synthetic dataset to those already in raw."""


def _dataset_identity(
    seed: int, scale_factor: float, start_date: date, replay_dir: str | None
) -> dict[str, Any]:
    """What makes two loads parts of the same dataset: the generator's parameters, or the
    recording a replay reads (whose own seed and scale apply)."""
    if replay_dir:
        return {"replay_dir": str(Path(replay_dir).resolve())}
    return {"seed": seed, "scale_factor": float(scale_factor), "start_date": start_date.isoformat()}


def _check_dataset(wanted: dict[str, Any]) -> None:
    """Record the dataset with the first load; refuse a load of another one into the same raw.

    Kept in dlt's source state, which dlt commits with the load package (and restores from the
    destination), so the record travels with the data it describes.
    """
    recorded = dlt.current.source_state().setdefault(DATASET_KEY, wanted)
    if recorded != wanted:
        raise DatasetMismatch(
            f"raw already holds shop data generated with {_describe(recorded)}, and this run "
            f"asks for {_describe(wanted)}: loading it would mix two datasets. Run with the "
            "recorded values (the shop's run config), or start over with an empty data folder "
            "(`make clean` on the embedded default)."
        )


def _describe(identity: dict[str, Any]) -> str:
    return ", ".join(f"{name}={value}" for name, value in sorted(identity.items()))


def _write_disposition(table: str) -> Any:
    if table in MERGE_TABLES:
        # Raw keeps every version (key includes updated_at): upsert makes re-delivery idempotent.
        return {"disposition": "merge", "strategy": "upsert"}
    return "append"


@dlt.source(name="shop", max_table_nesting=0)
def shop(
    business_date: date,
    seed: int = 42,
    scale_factor: float = 1.0,
    start_date: date = settings.START_DATE,
    batch_size: int = settings.DEFAULT_BATCH_SIZE,
    reload: bool = False,
    replay_dir: str | None = None,
    last_business_date: date | None = None,
) -> list[DltResource]:
    """The increments the shop delivered on ``business_date`` (through ``last_business_date``).

    Args:
        business_date: the delivery day D (rows with D <= _arrived_at < D+1, UTC).
        seed: random seed; the data is a pure function of (seed, scale_factor, start_date, D).
        scale_factor: volume multiplier (1 ~ 500 orders/day; linear).
        start_date: first day of the shop; D must not be earlier.
        batch_size: max rows per Arrow table yielded (does not change the data).
        reload: re-yield D for the merge tables even if the ledger has it (upserts are
            idempotent). Append tables ignore it: re-sending their rows would duplicate them,
            as an append destination has no key to match on; reloading them needs a delete of
            D's rows first.
        replay_dir: read increments recorded as Parquet (``bench/generate.py``) instead of
            generating them; the seed and scale of the recording apply.
        last_business_date: also deliver every date after ``business_date`` up to this one
            (inclusive), in the same load: a backfill window pays dlt's per-load work and one
            Iceberg commit per table once, not once per date. Each date is still ledgered.
    """
    simulator = ShopSimulator(seed=seed, scale_factor=scale_factor, start_date=start_date)
    simulator.day_index(business_date)  # fail fast on a date before start_date
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    last = last_business_date or business_date
    if last < business_date:
        raise ValueError(f"last_business_date {last} is before business_date {business_date}")
    increments = ParquetReplay(Path(replay_dir)) if replay_dir else simulator
    dates = [business_date + timedelta(days=n) for n in range((last - business_date).days + 1)]
    dataset = _dataset_identity(seed, scale_factor, start_date, replay_dir)
    return [_resource(increments, table, dates, batch_size, reload, dataset) for table in TABLES]


def _resource(
    increments: ShopSimulator | ParquetReplay,
    table: str,
    dates: list[date],
    batch_size: int,
    reload: bool,
    dataset: dict[str, Any],
) -> DltResource:
    window_start = datetime.combine(dates[0], time(), tzinfo=UTC)
    window_end = datetime.combine(dates[-1], time(), tzinfo=UTC) + timedelta(days=1)
    bypass_ledger = reload and table in MERGE_TABLES

    def increment() -> Iterator[pa.Table]:
        _check_dataset(dataset)  # before any row: a refused run extracts nothing
        ledger: list[str] = dlt.current.resource_state().setdefault(LEDGER_KEY, [])
        for business_date in dates:
            day = business_date.isoformat()
            if day in ledger and not bypass_ledger:
                logger.info(f"shop.{table}: business date {day} already loaded, yielding nothing")
                continue
            yield from increments.batches(table, business_date, batch_size)
            # Reached only after the date's last batch was taken; dlt commits this state with
            # the load package, so a failed extract records no date at all.
            if day not in ledger:
                bisect.insort(ledger, day)

    return dlt.resource(
        increment,
        name=table,
        table_format="iceberg",
        write_disposition=_write_disposition(table),
        primary_key=list(PRIMARY_KEYS[table]),
        # The Arrow contract as the column hints, so arrow and dlt hints never disagree:
        # ``dlt.resource`` takes "a list, dict, pydantic model or pyarrow schema" (its docstring,
        # dlt's API reference, api_reference/dlt/extract/decorators.md).
        columns=SCHEMAS[table],
        # A closed-open window over the business dates; with end_value set dlt keeps no cursor
        # state, so dates can be loaded in any order.
        incremental=dlt.sources.incremental(
            CURSOR,
            initial_value=window_start,
            end_value=window_end,
            range_end="open",
        ),
    )()
