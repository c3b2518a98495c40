"""Fixtures for the shop source tests: a week of increments at scale factor 1, generated once."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa
import pytest

from ingestion.shop.generator import TABLES, ShopSimulator
from ingestion.shop.settings import START_DATE

SEED = 42
SCALE_FACTOR = 1.0
# Monday 2024-01-01 .. Monday 2024-01-08: a full week including a weekend.
DAYS: list[date] = [START_DATE + timedelta(days=i) for i in range(8)]


@pytest.fixture(scope="session")
def days() -> list[date]:
    return DAYS


@pytest.fixture(scope="session")
def simulator() -> ShopSimulator:
    return ShopSimulator(seed=SEED, scale_factor=SCALE_FACTOR)


@pytest.fixture(scope="session")
def increments(simulator: ShopSimulator) -> dict[str, dict[date, pa.Table]]:
    """table -> business date -> that day's increment."""
    return {table: {day: simulator.read(table, day) for day in DAYS} for table in TABLES}


@pytest.fixture(scope="session")
def rows(increments: dict[str, dict[date, pa.Table]]) -> dict[str, list[dict]]:
    """table -> every row delivered over DAYS as Python dicts, each tagged with its ``_day``."""
    return {
        table: [
            {**row, "_day": day}
            for day, increment in by_day.items()
            for row in increment.to_pylist()
        ]
        for table, by_day in increments.items()
    }
